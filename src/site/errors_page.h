// The errors table as users see it (SPEC "Build errors"): www/errors.html (every error, last
// seen first, with its count, groups, first and last job and class, filterable in the browser)
// and the document `openerp-runbot errors --json` prints.
#pragma once
#include <nlohmann/json.hpp>

#include "state/db.h"
#include "util/atomic_file.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// An error's class across jobs: flaky once any of its jobs proved it flaky, else known when
// seen in more than one job, else new.
std::string error_class(const ErrorRecord& e);

// {"version": 1, "errors": [{"fingerprint", "class", "text", "sample", "step", "jobs",
// "first_job", "last_job", "groups": [{"name", "last_job"}]}]}, last seen first; at most
// `limit` errors (0: all).
nlohmann::json errors_document(Db& db, size_t limit = 0);

// Writes www/errors.html if its content changed (at most kErrorsPageRows errors).
inline constexpr size_t kErrorsPageRows = 2000;
Status publish_errors_page(const Paths& paths, Db& db, Sync sync);

}  // namespace runbot
