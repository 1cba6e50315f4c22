// What the runbot knows, as SPEC's status.json document and as `status` text.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "config.h"
#include "db.h"
#include "util/paths.h"

namespace runbot {

// The status.json document (SPEC "Site"), without "updated_at" (the publisher sets it).
nlohmann::json status_document(const Config& config, const Paths& paths, Db& db);

// Human summary: groups, jobs, instances, remote warnings.
std::string status_text(const Config& config, const Paths& paths, Db& db);

}  // namespace runbot
