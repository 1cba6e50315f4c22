// Publishes the static site into www/: index.html, job/<id>.html, status.json, badges and
// style.css. A file is rewritten only when its content changed; files of jobs and groups that
// left the document are removed.
#pragma once
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "site/status_json.h"
#include "util/atomic_file.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

struct PublishResult {
  std::vector<std::string> written;  // paths relative to www/, in the order written
  std::vector<std::string> removed;  // stale job pages and badges, relative to www/
};

// Writes the site for `source` into paths.www(), reading its jobs once, newest first, without
// holding them all. status.json gets "updated_at" = `now` only when the rest of its content
// changed. An idle publish writes nothing. With `only_jobs`, only those jobs' pages and their
// groups' badges are rendered (plus index.html and status.json), and nothing is pruned.
// Without it every page is rendered; into an empty site they are written into a staging
// folder that replaces job/ whole, so a crash never leaves a half-written page.
// `sync`: Sync::now flushes what was written (syncfs) before returning; Sync::later leaves it
// in the page cache, where a process crash cannot lose it (publish() covers a reboot).
Result<PublishResult> publish_site(const Config& config, const Paths& paths, StatusSource source,
                                   Time now, const std::set<int64_t>* only_jobs = nullptr,
                                   Sync sync = Sync::now);

// The same for a whole status document (status_document()'s shape); not an object = error.
Result<PublishResult> publish_site(const Config& config, const Paths& paths, nlohmann::json status,
                                   Time now, const std::set<int64_t>* only_jobs = nullptr,
                                   Sync sync = Sync::now);

// The SVG badge "runbot | <result>" for a group's newest finished result ("" = none yet).
std::string render_badge(const std::string& result);

}  // namespace runbot
