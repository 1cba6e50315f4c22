#include "site/full_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "site/history.h"
#include "site/names.h"
#include "site/page_writer.h"

namespace runbot {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kKey = "site.full_render";
constexpr size_t kRowsAtOnce = 1000;  // rows held at once: bounds memory
constexpr int64_t kEveryJob = std::numeric_limits<int64_t>::max();

void save(Db& db, const FullRender& r) {
  db.set_meta(kKey, json{{"pages_below", r.pages_below},
                         {"groups_done", r.groups_done},
                         {"groups_after", r.groups_after},
                         {"groups_started", r.groups_started},
                         {"history_next", r.history_next},
                         {"fresh", r.fresh},
                         {"jobs", r.jobs}}
                        .dump(-1, ' ', false, json::error_handler_t::replace));
}

// Job pages below render.pages_below, newest first, up to `budget` jobs.
Result<int64_t> job_pages(const Config& config, const Paths& paths, Db& db, FullRender& render,
                          int64_t budget, SiteFiles& files) {
  PageWriter::Options options{
      paths.www() / "job", render.fresh ? PageWriter::Mode::fresh : PageWriter::Mode::compare, 2};
  auto pages = PageWriter::start(config, paths, std::move(options));
  if (!pages) return pages.error();
  int64_t done = 0;
  Status added;
  while (added && done < budget && render.pages_below > 0) {
    auto rows = db.job_rows_below(
        render.pages_below, std::min<size_t>(kRowsAtOnce, static_cast<size_t>(budget - done)));
    if (rows.empty()) {
      render.pages_below = 0;
      break;
    }
    render.pages_below = rows.back().job.id;
    done += static_cast<int64_t>(rows.size());
    for (JobRow& row : rows)
      if (added = (*pages)->add(std::move(row), true, nullptr); !added) break;
  }
  auto written = (*pages)->finish();
  if (!added) return added.error();
  if (!written) return written.error();
  for (const std::string& rel : *written) files.wrote(rel);
  return done;
}

// Removes what belongs to no job or group the DB knows (only at the end of a full render: it
// lists every page).
Status prune(Db& db, const StatusHead& head, bool fresh, int64_t history_pages, SiteFiles& files) {
  if (!fresh) {
    std::set<std::string> ids;
    db.for_each_job_row(false, [&](JobRow&& row) {
      ids.insert(std::to_string(row.job.id));
      return true;
    });
    if (auto st = files.prune("job", ".html", ids); !st) return st;
  }
  std::set<std::string> keys;
  for (const GroupFacts& g : head.groups) keys.insert(group_key(g.name));
  if (auto st = files.prune("badge", ".svg", keys); !st) return st;
  if (auto st = files.prune("group", ".html", keys); !st) return st;
  if (auto st = files.prune("group", "", keys); !st) return st;
  std::set<std::string> pages;
  for (int64_t n = 1; n <= history_pages; ++n) pages.insert(std::to_string(n));
  return files.prune("history", ".json", pages);
}

}  // namespace

std::optional<FullRender> full_render_in_progress(Db& db) {
  auto text = db.meta(kKey);
  if (!text || text->empty()) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  FullRender r;
  r.pages_below = kEveryJob;
  if (!j.is_object()) return r;  // unreadable: start again
  r.pages_below = j.value("pages_below", int64_t{0});
  r.groups_done = j.value("groups_done", false);
  r.groups_after = j.value("groups_after", std::string());
  r.groups_started = j.value("groups_started", false);
  r.history_next = j.value("history_next", int64_t{1});
  r.fresh = j.value("fresh", false);
  r.jobs = j.value("jobs", int64_t{0});
  return r;
}

FullRender start_full_render(const Paths& paths, Db& db) {
  FullRender r;
  r.pages_below = kEveryJob;
  r.fresh = empty_or_missing(paths.www() / "job");
  save(db, r);
  return r;
}

Result<bool> continue_full_render(const Config& config, const Paths& paths, Db& db,
                                  const StatusHead& head, GroupPages& groups, FullRender& render,
                                  int64_t budget, SiteFiles& files) {
  if (render.pages_below > 0) {
    auto done = job_pages(config, paths, db, render, budget, files);
    if (!done) return done.error();
    budget -= *done;
    render.jobs += *done;
  }
  if (render.pages_below == 0 && !render.groups_done && budget > 0) {
    std::vector<const GroupFacts*> by_name;
    for (const GroupFacts& g : head.groups)
      if (!render.groups_started || g.name > render.groups_after) by_name.push_back(&g);
    std::sort(by_name.begin(), by_name.end(),
              [](const GroupFacts* a, const GroupFacts* b) { return a->name < b->name; });
    for (const GroupFacts* g : by_name) {
      if (budget <= 0) break;
      auto done = groups.write(*g, {}, true, files);
      if (!done) return done.error();
      budget -= std::max<int64_t>(*done, 1);
      render.groups_after = g->name;
      render.groups_started = true;
    }
    render.groups_done = budget > 0;  // every remaining group fitted
  }
  int64_t pages = history_pages(db.history_size());
  if (render.groups_done && budget > 0 && render.history_next <= pages) {
    int64_t last = std::min(pages, render.history_next + budget / kHistoryPageJobs);
    auto done = write_history_pages(config, paths, db, render.history_next, last, files);
    if (!done) return done.error();
    render.jobs += *done;
    render.history_next = last + 1;
  }
  bool complete = render.pages_below == 0 && render.groups_done && render.history_next > pages;
  if (!complete) {
    save(db, render);
    return false;
  }
  if (auto st = prune(db, head, render.fresh, pages, files); !st) return st.error();
  db.set_meta(kKey, "");
  return true;
}

}  // namespace runbot
