// Reap: move jobs building -> running/done and running -> done from markers and process
// liveness. A runner that died without a result makes the job ko ("runner died").
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

struct ReapResult {
  std::vector<int64_t> changed;       // jobs whose state or result changed
  std::vector<std::string> warnings;  // corrupt markers etc., one line each
};

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now);

}  // namespace runbot
