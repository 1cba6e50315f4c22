// history/<n>.json (SPEC "Site"): the jobs that left status.json, 1,000 per page by their place
// in the history, oldest first. A page is written when it gains jobs; a full one never again
// (except by a full render, which compares it and finds it unchanged).
#pragma once
#include <cstdint>

#include "config/config.h"
#include "site/site_files.h"
#include "state/db.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// Writes pages `first`..`last` from the DB; returns how many jobs they hold.
Result<int64_t> write_history_pages(const Config& config, const Paths& paths, Db& db, int64_t first,
                                    int64_t last, SiteFiles& files);

// Writes the pages that gained jobs since the history held `published` places (the meta value
// publish keeps), i.e. those of places published+1 .. db.history_size().
Status write_new_history(const Config& config, const Paths& paths, Db& db, int64_t published,
                         SiteFiles& files);

}  // namespace runbot
