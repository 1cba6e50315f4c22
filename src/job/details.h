// A job's build details as status.json shows them ({steps, coverage, artifacts}), read from the
// markers its runner wrote. The reaper keeps them in the job's row once the build is over, so
// nothing reads a finished job's folder again.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>

#include "util/paths.h"

namespace runbot {

// {"steps": [...], "coverage": number|null, "artifacts": ["jobs/<id>/src/..."]}; unreadable
// markers read as no steps / no result.
nlohmann::json read_job_details(const Paths& paths, int64_t id);

}  // namespace runbot
