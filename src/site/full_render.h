// A full render (no site yet, a new site format, or a reboot that may have lost unsynced
// files) done in bounded slices: each publish renders a bounded number of jobs of it (20,000 by
// default), so a tick never blocks on the history (200,000 jobs) and keeps doing its other work.
// Job pages go newest first (the index's links work first), then every group's pages, then every
// history page. Its progress lives in runbot.db (meta "site.full_render"), so a crash resumes it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "site/group_pages.h"
#include "site/site_files.h"
#include "site/status_json.h"
#include "state/db.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

struct FullRender {
  int64_t pages_below = 0;   // job pages of ids >= this are done (0: all)
  bool groups_done = false;  // every group's pages done
  std::string groups_after;  // group pages done for names <= this ("" = none yet)
  bool groups_started = false;
  int64_t history_next = 1;  // history pages before this are done
  bool fresh = false;        // job/ was empty when it began: pages are created, not compared
  int64_t jobs = 0;          // jobs rendered so far (for progress)

  bool operator==(const FullRender&) const = default;
};

// The full render in progress, if any.
std::optional<FullRender> full_render_in_progress(Db& db);
// Starts one (replacing any in progress): every page from the newest job down.
FullRender start_full_render(const Paths& paths, Db& db);

// Renders the next slice (about `budget` jobs); true when the render is complete (its record is
// then gone, and the pages and badges of jobs and groups the DB no longer knows are removed).
Result<bool> continue_full_render(const Config& config, const Paths& paths, Db& db,
                                  const StatusHead& head, GroupPages& groups, FullRender& render,
                                  int64_t budget, SiteFiles& files);

}  // namespace runbot
