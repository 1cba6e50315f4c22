#include "site/site.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <unordered_map>
#include <vector>

#include "site/names.h"
#include "site/page_writer.h"
#include "site/template.h"
#include "site/view.h"
#include "util/atomic_file.h"
#include "util/clock.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Whether a job's result can be its group's badge (a finished result).
bool is_badge_result(const std::string& r) {
  return r == "ok" || r == "warn" || r == "ko" || r == "killed";
}

// Whether two files are equal apart from bytes [skip_from, skip_from + skip_size) (status.json's
// "updated_at" value).
bool same_content(const fs::path& a, const fs::path& b, size_t skip_from = 0,
                  size_t skip_size = 0) {
  std::error_code ec;
  auto size_a = fs::file_size(a, ec);
  if (ec) return false;
  auto size_b = fs::file_size(b, ec);
  if (ec || size_a != size_b) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  std::vector<char> buf_a(1 << 16), buf_b(1 << 16);
  const size_t kFrom = skip_from, kTo = skip_from + skip_size;
  for (size_t offset = 0; in_a && in_b;) {
    in_a.read(buf_a.data(), static_cast<std::streamsize>(buf_a.size()));
    in_b.read(buf_b.data(), static_cast<std::streamsize>(buf_b.size()));
    auto n = static_cast<size_t>(in_a.gcount());
    if (n != static_cast<size_t>(in_b.gcount())) return false;
    for (size_t i = std::max(offset, kFrom); i < std::min(offset + n, kTo); ++i)
      buf_a[i - offset] = buf_b[i - offset] = 0;
    if (std::memcmp(buf_a.data(), buf_b.data(), n) != 0) return false;
    offset += n;
  }
  return !in_a.bad() && !in_b.bad();
}

// True when `dir` is missing or holds nothing.
bool empty_or_missing(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

// What reading the jobs collects for one group: its newest cells, badge result and job count.
struct GroupSlot {
  std::string badge;               // "badge/<stem>.svg"
  std::vector<std::string> cells;  // by position in the group: filled by the page writer
  size_t shown = 0;                // cells asked for
  size_t jobs = 0;
  size_t result_pos = SIZE_MAX;
  std::string result;
  bool dirty = false;
};

class SiteWriter {
 public:
  explicit SiteWriter(fs::path www) : www_(std::move(www)) {}

  Status write(const std::string& rel, const std::string& content) {
    // www/ is regenerable: one syncfs at the end instead of an fsync per page.
    auto wrote = write_file_if_changed(www_ / rel, content, Sync::later);
    if (!wrote) return wrote.error();
    if (*wrote) out.written.push_back(rel);
    return {};
  }

  // Removes files of `dir` ending in `ext` whose stem is not in `keep`, and temp leftovers.
  Status prune(const std::string& dir, const std::string& ext, const std::set<std::string>& keep) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(www_ / dir, ec)) {
      std::string name = entry.path().filename().string();
      bool temp = name.find(".tmp.") != std::string::npos;
      bool ours = entry.path().extension() == ext && !keep.count(entry.path().stem().string());
      if (!temp && !ours) continue;
      if (!fs::remove(entry.path(), ec) || ec)
        return Error{fmt::format("cannot remove {}: {}", entry.path().string(), ec.message())};
      if (!temp) out.removed.push_back(dir + "/" + name);
    }
    if (ec) return Error{fmt::format("cannot list {}: {}", (www_ / dir).string(), ec.message())};
    return {};
  }

  PublishResult out;

 private:
  fs::path www_;
};

}  // namespace

// index.html, streamed: the page around a marker, then each group's section in place of the
// marker (one group's data at a time, not the whole index at once). True when it changed.
Result<bool> write_index(const Config& config, const fs::path& www, Template& page_tmpl,
                         Template& group_tmpl, const StatusSource& source,
                         const std::vector<IndexCells>& cells) {
  static const std::string kMarker = "\x01runbot-groups\x01";
  std::string page = page_tmpl.render(
      index_view(config, source.next_job_id, !source.groups.empty(), source.remotes, kMarker));
  size_t at = page.find(kMarker);
  if (at == std::string::npos) return Error{"index.html.mustache has no {{{groups}}}"};
  auto file = StreamedFile::create(www / "index.html");
  if (!file) return file.error();
  Status st = (*file)->write(std::string_view(page).substr(0, at));
  for (size_t i = 0; st && i < source.groups.size(); ++i)
    st = (*file)->write(group_tmpl.render(group_view(source.groups[i], cells[i])));
  if (st) st = (*file)->write(std::string_view(page).substr(at + kMarker.size()));
  if (st) st = (*file)->flush();
  if (!st) return st.error();
  if (same_content((*file)->temp_path(), www / "index.html")) return false;
  if (auto committed = (*file)->commit(Sync::later); !committed) return committed.error();
  return true;
}

Result<PublishResult> publish_site(const Config& config, const Paths& paths, StatusSource source,
                                   Time now, const std::set<int64_t>* only_jobs, Sync sync) {
  if (!source.for_each_job) return Error{"status source has no jobs"};
  fs::path www = paths.www();
  for (const fs::path& dir : {www, www / "badge"}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  auto index_tmpl = load_template("index.html.mustache");
  if (!index_tmpl) return index_tmpl.error();
  auto group_tmpl = load_template("index_group.html.mustache");
  if (!group_tmpl) return group_tmpl.error();
  auto css = read_file(share_dir() / "www" / "style.css");
  if (!css) return Error{fmt::format("site stylesheet missing: {}", css.error().message)};
  auto script = read_file(share_dir() / "www" / "age.js");
  if (!script) return Error{fmt::format("site script missing: {}", script.error().message)};

  json& groups = source.groups;
  if (!groups.is_array()) groups = json::array();
  size_t shown = static_cast<size_t>(std::max(config.runbot.keep_per_group, 5));
  std::vector<GroupSlot> slots(groups.size());
  std::unordered_map<int64_t, std::pair<size_t, size_t>> place;  // job -> (group, position)
  for (size_t i = 0; i < groups.size(); ++i) {
    json& g = groups[i];
    if (!g.is_object()) continue;
    auto name = g.find("name");
    slots[i].badge =
        badge_path(name != g.end() && name->is_string() ? name->get<std::string>() : "");
    g["badge"] = slots[i].badge;
    auto ids = g.find("jobs");
    if (ids == g.end() || !ids->is_array()) continue;
    slots[i].cells.resize(std::min(ids->size(), shown));  // never resized again: see add()
    for (size_t pos = 0; pos < ids->size(); ++pos)
      if ((*ids)[pos].is_number_integer()) place.try_emplace((*ids)[pos].get<int64_t>(), i, pos);
  }

  // Pages: into a staging folder when there is no site yet, else compared one by one.
  fs::path job_dir = www / "job";
  fs::path staging = www / ".job.new";
  bool fresh = !only_jobs && empty_or_missing(job_dir);
  {
    std::error_code ec;
    if (fresh) fs::remove_all(staging, ec);
    fs::create_directories(fresh ? staging : job_dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", job_dir.string(), ec.message())};
  }
  auto status_file = StreamedFile::create(www / "status.json");
  if (!status_file) return status_file.error();
  StatusJsonWriter status_writer(
      [&](std::string_view text) { return (*status_file)->write(text); });
  if (auto st = status_writer.begin(now, source.next_job_id, groups); !st) return st.error();
  PageWriter::Options options{fresh ? staging : job_dir,
                              fresh ? PageWriter::Mode::fresh : PageWriter::Mode::compare,
                              only_jobs ? 0u : 2u, source.publish_row,
                              [&](std::string_view line) { return status_writer.job_line(line); }};
  auto pages = PageWriter::start(config, paths, std::move(options));
  if (!pages) return pages.error();

  std::vector<int64_t> listed;  // every page, for pruning after a compared full publish
  // Reading the jobs only places them; the page writer's threads do the rest (JSON, pages, cells).
  auto place_job = [&](int64_t id, const std::string& result, PageWriter::Item item) -> Status {
    bool dirty = !only_jobs || only_jobs->count(id);
    if (!only_jobs && !fresh) listed.push_back(id);
    std::string* cell = nullptr;
    if (auto it = place.find(id); it != place.end()) {
      auto [index, pos] = it->second;
      GroupSlot& slot = slots[index];
      ++slot.jobs;
      slot.dirty = slot.dirty || dirty;
      if (is_badge_result(result) && pos < slot.result_pos) {
        slot.result_pos = pos;
        slot.result = result;
      }
      if (pos < slot.cells.size()) {
        cell = &slot.cells[pos];
        ++slot.shown;
      }
    }
    return (*pages)->add(id, std::move(item), dirty, cell);
  };
  Status streamed;
  if (source.for_each_row && source.publish_row) {
    streamed = source.for_each_row([&](StatusSource::Row&& row) {
      int64_t id = row.job.id;
      const auto& r = row.job.result;
      return place_job(id, r ? std::string(to_string(*r)) : std::string(), std::move(row));
    });
  } else {
    streamed = source.for_each_job([&](json&& job) -> Status {
      auto id_field = job.is_object() ? job.find("id") : job.end();
      if (id_field == job.end() || !id_field->is_number_integer())
        return (*pages)->add(0, std::move(job), false, nullptr);  // only its line
      int64_t id = id_field->get<int64_t>();
      auto result = job.find("result");
      std::string r = result != job.end() && result->is_string() ? result->get<std::string>() : "";
      return place_job(id, r, std::move(job));
    });
  }
  auto written_pages = (*pages)->finish();
  if (!streamed) return streamed.error();
  if (!written_pages) return written_pages.error();
  if (auto st = status_writer.end(source.remotes); !st) return st.error();

  SiteWriter site(www);
  if (auto st = site.write("style.css", *css); !st) return st.error();
  if (auto st = site.write("age.js", *script); !st) return st.error();
  site.out.written.insert(site.out.written.end(), written_pages->begin(), written_pages->end());
  std::set<std::string> stems;
  std::vector<IndexCells> cells(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    GroupSlot& slot = slots[i];
    for (const std::string& cell : slot.cells) cells[i].html += cell;
    cells[i].hidden = slot.jobs > slot.shown ? slot.jobs - slot.shown : 0;
    std::vector<std::string>().swap(slot.cells);  // one copy at a time
    if (slot.badge.empty()) continue;
    stems.insert(fs::path(slot.badge).stem().string());
    if (only_jobs && !slot.dirty) continue;
    if (auto st = site.write(slot.badge, render_badge(slot.result)); !st) return st.error();
  }
  slots.clear();
  if (auto wrote = write_index(config, www, *index_tmpl, *group_tmpl, source, cells); !wrote)
    return wrote.error();
  else if (*wrote)
    site.out.written.push_back("index.html");

  if (fresh) {
    // Synced, the staged pages reach the disk before they replace the (empty) job/ folder.
    if (sync == Sync::now)
      if (auto st = sync_filesystem(staging); !st) return st.error();
    std::error_code ec;
    fs::remove(job_dir, ec);
    fs::rename(staging, job_dir, ec);
    if (ec)
      return Error{fmt::format("cannot move {} to {}: {}", staging.string(), job_dir.string(),
                               ec.message())};
  }
  if (auto st = (*status_file)->flush(); !st) return st.error();
  if (same_content((*status_file)->temp_path(), www / "status.json",
                   StatusJsonWriter::kUpdatedAtOffset, StatusJsonWriter::kUpdatedAtSize)) {
    (*status_file)->discard();  // keeps the old "updated_at": nothing else changed
  } else {
    if (auto st = (*status_file)->commit(Sync::later); !st) return st.error();
    site.out.written.push_back("status.json");
  }
  // Synced, what was written reaches the disk before the caller records this publish as done.
  if (sync == Sync::now && !site.out.written.empty())
    if (auto st = sync_filesystem(www); !st) return st.error();
  if (only_jobs) return std::move(site.out);  // pruning lists every page: full publishes only
  if (!fresh) {
    std::set<std::string> keep;
    for (int64_t id : listed) keep.insert(std::to_string(id));
    if (auto st = site.prune("job", ".html", keep); !st) return st.error();
  }
  if (auto st = site.prune("badge", ".svg", stems); !st) return st.error();
  return std::move(site.out);
}

Result<PublishResult> publish_site(const Config& config, const Paths& paths, json status, Time now,
                                   const std::set<int64_t>* only_jobs, Sync sync) {
  auto source = status_source(std::move(status));
  if (!source) return source.error();
  return publish_site(config, paths, std::move(*source), now, only_jobs, sync);
}

}  // namespace runbot
