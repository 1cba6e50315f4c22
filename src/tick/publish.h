// Publish: status document -> static site under www/ and the nginx config (reloaded only
// when it changed). Only reads the DB.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

struct PublishOutcome {
  std::vector<std::string> written;  // site files rewritten, relative to www/
  std::vector<std::string> nginx;    // what was done to nginx ("reloaded", "started", ...)
  std::vector<std::string> errors;   // one line each; publishing never aborts the tick
  bool full_render_done = true;      // false while a full render proceeds slice by slice
};

PublishOutcome publish(const Config& config, const Paths& paths, Db& db, Time now);

// When the status document's content last changed: the published status.json's "updated_at"
// while nothing changed in the DB since that publish, else `now` (for `status --json`).
Time content_changed_at(const Paths& paths, Db& db, Time now);

}  // namespace runbot
