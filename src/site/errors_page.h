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
// "first_job", "last_job", "groups": [{"name", "last_job"}], "group_count"}]}, last seen
// first; at most `limit` errors and `max_groups` groups each (0: all).
nlohmann::json errors_document(Db& db, size_t limit = 0, size_t max_groups = 0);

// Writes www/errors.html when the errors table changed since it was last written (or the page
// is missing), and then only if its content changed (at most kErrorsPageRows errors, each with
// its kErrorsPageGroups newest groups), so the page stays far under 5 MB.
inline constexpr size_t kErrorsPageRows = 2000;
inline constexpr size_t kErrorsPageGroups = 10;
Status publish_errors_page(const Paths& paths, Db& db, Sync sync);

}  // namespace runbot
