// Publishes the static site into www/ from runbot.db: status.json (groups and current jobs),
// history/<n>.json, index.html, job/<id>.html, group/<key>.html, badge/<key>.svg, and the
// static files (style, scripts, the log viewer). A file is rewritten only when its content
// changed. A publish renders what changed: the changed jobs' pages, the index and status.json
// from the cache of each current job's rendering (runbot.db's site_jobs), the changed groups'
// pages and badges, and the history pages that gained jobs.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "state/db.h"
#include "util/atomic_file.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

struct PublishResult {
  std::vector<std::string> written;  // paths relative to www/, in the order written
  std::vector<std::string> removed;  // stale pages and badges, relative to www/
  bool complete = true;              // false while a full render is still in progress
};

// Publishes what changed: `changed` holds the jobs changed since the last publish; nullptr
// means "anything may have changed" and starts a full render (also started when the site's
// format (templates, configuration) changed). A full render proceeds in bounded slices, one per
// publish (site/full_render.h); status.json, the index and the changed jobs are always current.
// status.json gets "updated_at" = `now` only when the rest of its content changed, so an idle
// publish writes nothing. `sync`: Sync::now flushes what was written (syncfs) before
// returning; Sync::later leaves it in the page cache (publish() covers a reboot).
struct PublishOptions {
  Sync sync = Sync::now;
  int64_t full_render_budget = 20000;  // jobs rendered per publish by a full render
};
Result<PublishResult> publish_site(const Config& config, const Paths& paths, Db& db, Time now,
                                   const std::set<int64_t>* changed, PublishOptions options = {});

// True when no full render is under way and the site's format (templates, configuration) is
// the one it was rendered with: then a publish with nothing changed has nothing to do.
bool site_is_current(const Config& config, const Paths& paths, Db& db);

// The SVG badge "runbot | <result>" for a group's newest finished result ("" = none yet).
std::string render_badge(const std::string& result);

}  // namespace runbot
