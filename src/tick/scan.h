// Scan: fetch every project's remotes and store what they report. A remote that fails keeps
// its last known branches and is recorded as a warning.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

struct ScanResult {
  std::vector<std::string> warnings;  // "addons: fetch of /srv/addons.git failed: ..."
  int remotes = 0;
  int failed = 0;
};

// Fetches every remote of every project into its mirror and records heads and remote
// statuses in `db` (in one transaction) unless `record` is false (dry run).
ScanResult scan(const Config& config, const Paths& paths, Db& db, Time now, bool record,
                const std::function<void(std::string_view)>& progress = nullptr);

}  // namespace runbot
