#include "site/site.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "site/full_render.h"
#include "site/group_pages.h"
#include "site/history.h"
#include "site/names.h"
#include "site/page_writer.h"
#include "site/site_files.h"
#include "site/status_json.h"
#include "site/template.h"
#include "site/view.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatKey = "site.format";
constexpr const char* kHistoryKey = "site.history_published";  // places written to history/
constexpr const char* kFormatVersion = "4";  // bump when rendering changes without a template
constexpr size_t kCardGroups = 100;          // up to this many groups, the index has cards too
constexpr size_t kCompactCells = 5;          // jobs per group in the compact view
constexpr size_t kThreadsFrom = 64;          // jobs to render before threads are worth it
const char* const kStaticFiles[] = {"style.css", "age.js", "site.js", "log.html", "log.js"};
const char* const kTemplates[] = {"index.html.mustache",     "index_group.html.mustache",
                                  "index_row.html.mustache", "job.html.mustache",
                                  "job_cell.html.mustache",  "job_mini.html.mustache",
                                  "group.html.mustache"};

// Whether a job's result can be its group's badge (a finished result).
bool is_badge_result(const std::optional<JobResult>& r) {
  return r && (*r == JobResult::ok || *r == JobResult::warn || *r == JobResult::ko ||
               *r == JobResult::killed);
}

// The filter's result tokens of a group's newest job: its class, and "running" while live.
std::string result_tokens(const CurrentJob& j) {
  if (j.state == JobState::pending || j.state == JobState::building) return "building";
  std::string r = j.result ? std::string(to_string(*j.result)) : "";
  return j.state == JobState::running ? "running " + r : r;
}

// FNV-1a of `text` and a separator, continuing from `h`.
uint64_t fnv(uint64_t h, std::string_view text) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0x1f) * 1099511628211ull;
}

// What every cached rendering depends on besides the job: templates, the configuration.
Result<std::string> site_format(const Config& config, const Paths& paths) {
  uint64_t h = fnv(14695981039346656037ull, kFormatVersion);
  for (const char* name : kTemplates) {
    auto text = read_file(share_dir() / "templates" / name);
    if (!text) return text.error();
    h = fnv(h, *text);
  }
  auto toml = read_file(paths.config());
  h = fnv(h, toml ? *toml : "");
  h = fnv(h, config.runbot.domain);
  h = fnv(h, std::to_string(config.runbot.nginx_port));
  h = fnv(h, config.build.error_pattern);
  h = fnv(h, config.build.warning_pattern);
  for (const auto& a : config.build.artifacts) h = fnv(h, a);
  for (const auto& p : config.projects) h = fnv(h, p.name);
  return fmt::format("{:016x}", h);
}

struct Templates {
  Template index, card, row;
};

Result<Templates> load_index_templates() {
  auto index = load_template("index.html.mustache");
  if (!index) return index.error();
  auto card = load_template("index_group.html.mustache");
  if (!card) return card.error();
  auto row = load_template("index_row.html.mustache");
  if (!row) return row.error();
  return Templates{std::move(*index), std::move(*card), std::move(*row)};
}

// The current jobs, each with its rendering: from the cache, or rendered now (and cached).
// Pages are written for the jobs in `pages`, and for those in `changed` that are no longer
// current.
Status render_current(const Config& config, const Paths& paths, Db& db,
                      const std::set<int64_t>& changed, std::vector<CurrentJob>& jobs,
                      SiteFiles& files) {
  std::vector<std::pair<size_t, bool>> todo;  // (index in jobs, page)
  std::unordered_set<int64_t> current;
  current.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    current.insert(jobs[i].id);
    bool page = changed.count(jobs[i].id) > 0;
    if (!jobs[i].cache || page) todo.emplace_back(i, page);
  }
  std::vector<int64_t> gone;  // changed jobs that are history now: their pages only
  for (int64_t id : changed)
    if (!current.count(id)) gone.push_back(id);

  PageWriter::Options options{paths.www() / "job", PageWriter::Mode::compare,
                              todo.size() + gone.size() >= kThreadsFrom ? 2u : 0u};
  auto pages = PageWriter::start(config, paths, std::move(options));
  if (!pages) return pages.error();
  std::vector<PageWriter::Rendered> rendered(todo.size());
  Status added;
  for (size_t k = 0; added && k < todo.size(); ++k) {
    auto [i, page] = todo[k];
    auto row = db.job_row(jobs[i].id);
    if (!row) continue;  // gone meanwhile: nothing else reads this DB during a tick
    bool stale = !jobs[i].cache;
    added = (*pages)->add(std::move(*row), page, stale ? &rendered[k] : nullptr);
  }
  for (size_t k = 0; added && k < gone.size(); ++k)
    if (auto row = db.job_row(gone[k])) added = (*pages)->add(std::move(*row), true, nullptr);
  auto written = (*pages)->finish();
  if (!added) return added;
  if (!written) return written.error();
  for (const std::string& rel : *written) files.wrote(rel);

  Db::Transaction t(db);
  for (size_t k = 0; k < todo.size(); ++k) {
    CurrentJob& j = jobs[todo[k].first];
    if (j.cache) continue;
    SiteCache entry{j.changed, std::move(rendered[k].line), std::move(rendered[k].cell),
                    std::move(rendered[k].mini)};
    db.put_site_cache(j.id, entry);
    j.cache = std::move(entry);
  }
  for (int64_t id : gone) db.drop_site_cache(id);
  t.commit();
  return {};
}

// index.html and the badges of the groups in `badges` (every group with `all_badges`).
Status write_index(const Config& config, const StatusHead& head,
                   const std::vector<CurrentJob>& jobs, const std::set<std::string>& badges,
                   bool all_badges, SiteFiles& files) {
  auto tmpl = load_index_templates();
  if (!tmpl) return tmpl.error();
  std::unordered_map<std::string, size_t> slot;
  for (size_t i = 0; i < head.groups.size(); ++i) slot.emplace(head.groups[i].name, i);
  std::vector<IndexCells> cells(head.groups.size());
  std::vector<std::optional<JobResult>> badge(head.groups.size());
  std::vector<size_t> seen(head.groups.size());
  size_t card_cells = static_cast<size_t>(std::max(config.runbot.keep_per_group, 5));
  bool cards = head.groups.size() <= kCardGroups;
  for (const CurrentJob& j : jobs) {  // newest first
    auto it = slot.find(j.group);
    if (it == slot.end() || !j.cache) continue;
    size_t i = it->second;
    if (seen[i] == 0) cells[i].result = result_tokens(j);
    if (!badge[i] && is_badge_result(j.result)) badge[i] = j.result;
    ++seen[i];
    if (seen[i] <= kCompactCells) cells[i].mini += j.cache->mini;
    if (cards && seen[i] <= card_cells) cells[i].html += j.cache->cell;
  }
  std::string rows, card_html;
  for (size_t i = 0; i < head.groups.size(); ++i) {
    const GroupFacts& g = head.groups[i];
    cells[i].hidden = seen[i] > kCompactCells ? seen[i] - kCompactCells : 0;
    rows += tmpl->row.render(group_row_view(g, cells[i]));
    if (cards) {
      cells[i].hidden = seen[i] > card_cells ? seen[i] - card_cells : 0;
      card_html += tmpl->card.render(group_card_view(g, cells[i]));
    }
    if (all_badges || badges.count(g.name)) {
      std::string result = badge[i] ? std::string(to_string(*badge[i])) : "";
      if (auto st = files.write(g.badge, render_badge(result)); !st) return st;
    }
  }
  return files.write("index.html", tmpl->index.render(index_view(config, head, std::move(rows),
                                                                 std::move(card_html))));
}

Status write_status(const StatusHead& head, const std::vector<CurrentJob>& jobs, Time now,
                    const fs::path& www, SiteFiles& files) {
  auto file = StreamedFile::create(www / "status.json");
  if (!file) return file.error();
  StatusJsonWriter writer([&](std::string_view text) { return (*file)->write(text); });
  Status st = writer.begin(now, head);
  for (size_t i = 0; st && i < jobs.size(); ++i)
    if (jobs[i].cache) st = writer.job(jobs[i].cache->line);
  if (st) st = writer.end(head);
  if (st) st = (*file)->flush();
  if (!st) return st;
  if (same_content((*file)->temp_path(), www / "status.json", StatusJsonWriter::kUpdatedAtOffset,
                   StatusJsonWriter::kUpdatedAtSize)) {
    (*file)->discard();  // keeps the old "updated_at": nothing else changed
    return {};
  }
  if (auto committed = (*file)->commit(Sync::later); !committed) return committed;
  files.wrote("status.json");
  return {};
}

}  // namespace

bool site_is_current(const Config& config, const Paths& paths, Db& db) {
  auto format = site_format(config, paths);
  return format && db.meta(kFormatKey) == *format && !full_render_in_progress(db);
}

Result<PublishResult> publish_site(const Config& config, const Paths& paths, Db& db, Time now,
                                   const std::set<int64_t>* changed, PublishOptions options) {
  fs::path www = paths.www();
  for (const char* dir : {"", "badge", "job", "group", "history"}) {
    std::error_code ec;
    fs::create_directories(www / dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", (www / dir).string(), ec.message())};
  }
  SiteFiles files(www);
  for (const char* name : kStaticFiles) {
    auto text = read_file(share_dir() / "www" / name);
    if (!text) return Error{fmt::format("site file missing: {}", text.error().message)};
    if (auto st = files.write(name, *text); !st) return st.error();
  }
  auto format = site_format(config, paths);
  if (!format) return format.error();
  auto groups = GroupPages::load(config, paths, db);
  if (!groups) return groups.error();

  db.place_collected_jobs();
  std::optional<FullRender> full = full_render_in_progress(db);
  bool restart = !changed || db.meta(kFormatKey) != *format;
  if (restart) {
    Db::Transaction t(db);
    db.clear_site_cache();
    full = start_full_render(paths, db);
    db.set_meta(kFormatKey, *format);
    db.set_meta(kHistoryKey, "0");
    t.commit();
  }
  // The current jobs first: status.json's groups list them, the rest renders from them.
  std::vector<CurrentJob> current;
  current.reserve(4096);
  bool cards = db.groups_count() <= static_cast<int64_t>(kCardGroups);
  db.for_each_current_job([&](CurrentJob&& j) { current.push_back(std::move(j)); }, cards);
  StatusHead head = status_head(config, db, &current);
  static const std::set<int64_t> kNothing;
  const std::set<int64_t>& dirty = changed && !restart ? *changed : kNothing;
  if (auto st = render_current(config, paths, db, dirty, current, files); !st) return st.error();
  const std::vector<CurrentJob>* jobs = &current;
  // The groups whose pages and badge show a changed job, and the jobs of each.
  std::map<std::string, std::vector<int64_t>> dirty_groups;
  for (int64_t id : dirty)
    if (auto job = db.job(id)) dirty_groups[job->group].push_back(id);
  std::set<std::string> badges;
  for (const auto& [group, ids] : dirty_groups) badges.insert(group);
  if (auto st = write_index(config, head, *jobs, badges, restart, files); !st) return st.error();
  for (const GroupFacts& g : head.groups) {
    auto it = dirty_groups.find(g.name);
    if (it == dirty_groups.end()) continue;
    std::multiset<int64_t> pages;
    for (int64_t id : it->second) pages.insert(groups->page_of(g, id));
    if (auto wrote = groups->write(g, pages, false, files); !wrote) return wrote.error();
  }
  int64_t history_published = 0;
  if (auto text = db.meta(kHistoryKey)) history_published = std::atoll(text->c_str());
  if (!full) {
    if (auto st = write_new_history(config, paths, db, history_published, files); !st)
      return st.error();
    db.set_meta(kHistoryKey, std::to_string(db.history_size()));
  }
  PublishResult out;
  if (full) {
    auto done = continue_full_render(config, paths, db, head, *groups, *full,
                                     options.full_render_budget, files);
    if (!done) return done.error();
    out.complete = *done;
    if (*done) db.set_meta(kHistoryKey, std::to_string(db.history_size()));
  }
  if (auto st = write_status(head, *jobs, now, www, files); !st) return st.error();
  // Synced, what was written reaches the disk before the caller records this publish as done.
  if (options.sync == Sync::now && !files.written.empty())
    if (auto st = sync_filesystem(www); !st) return st.error();
  out.written = std::move(files.written);
  out.removed = std::move(files.removed);
  return out;
}

}  // namespace runbot
