// What the runbot knows, as SPEC's status.json document and as `status` text.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "config.h"
#include "db.h"
#include "util/paths.h"

namespace runbot {

// A job's build details as status.json shows them ({steps, coverage, artifacts}), read from
// its markers. The reaper stores them in the job's row when the build is over.
nlohmann::json read_job_details(const Paths& paths, int64_t id);

// The status.json document (SPEC "Site"), without "updated_at" (the publisher sets it).
nlohmann::json status_document(const Config& config, const Paths& paths, Db& db);

// Human summary: groups, jobs, instances, remote warnings.
std::string status_text(const Config& config, const Paths& paths, Db& db);

}  // namespace runbot
