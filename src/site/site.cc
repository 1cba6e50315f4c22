#include "site/site.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "site/names.h"
#include "site/template.h"
#include "site/view.h"
#include "util/atomic_file.h"
#include "util/clock.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Invalid UTF-8 (branch names are bytes) is replaced rather than refused.
std::string dump_json(const json& j) {
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

constexpr std::string_view kUpdatedAtKey = "\n \"updated_at\": \"";

// Where the value of the top-level "updated_at" starts in a status.json written by dump_json
// (top-level keys are the only ones indented by one space), or npos.
size_t updated_at_pos(const std::string& text) {
  size_t pos = text.find(kUpdatedAtKey);
  return pos == std::string::npos ? pos : pos + kUpdatedAtKey.size();
}

// status.json's text: "updated_at" stays what `old_text` says when nothing else changed, else
// becomes `now`. Found by text, not by parsing the old document (it can be tens of MB).
std::string status_text(json& doc, const std::string& old_text, Time now) {
  std::string stamp = iso8601(now);
  size_t old_pos = updated_at_pos(old_text);
  size_t old_end = old_pos == std::string::npos ? old_pos : old_text.find('"', old_pos);
  if (old_end == std::string::npos) {
    doc["updated_at"] = stamp;
    return dump_json(doc);
  }
  std::string old_stamp = old_text.substr(old_pos, old_end - old_pos);
  doc["updated_at"] = old_stamp;
  std::string text = dump_json(doc);
  if (text == old_text) return text;
  doc["updated_at"] = stamp;
  size_t pos = updated_at_pos(text);
  if (old_stamp.size() != stamp.size() || pos == std::string::npos) return dump_json(doc);
  text.replace(pos, stamp.size(), stamp);  // same length: no second dump of the document
  return text;
}

// The newest job of the group with a build result, or "".
std::string newest_finished_result(const json& group, const std::map<int64_t, const json*>& jobs) {
  if (!group.contains("jobs") || !group["jobs"].is_array()) return "";
  for (const json& id : group["jobs"]) {
    if (!id.is_number_integer()) continue;
    auto it = jobs.find(id.get<int64_t>());
    if (it == jobs.end()) continue;
    const json& result = (*it->second).contains("result") ? (*it->second)["result"] : json();
    if (!result.is_string()) continue;
    std::string r = result.get<std::string>();
    if (r == "ok" || r == "warn" || r == "ko" || r == "killed") return r;
  }
  return "";
}

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

Result<PublishResult> publish_site(const Config& config, const Paths& paths, json status,
                                   Time now, const std::set<int64_t>* only_jobs) {
  if (!status.is_object()) return Error{"status document is not a JSON object"};
  fs::path www = paths.www();
  for (const fs::path& dir : {www, www / "job", www / "badge"}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  auto index_tmpl = load_template("index.html.mustache");
  if (!index_tmpl) return index_tmpl.error();
  auto job_tmpl = load_template("job.html.mustache");
  if (!job_tmpl) return job_tmpl.error();
  auto css = read_file(share_dir() / "www" / "style.css");
  if (!css) return Error{fmt::format("site stylesheet missing: {}", css.error().message)};
  auto script = read_file(share_dir() / "www" / "age.js");
  if (!script) return Error{fmt::format("site script missing: {}", script.error().message)};

  json doc = std::move(status);
  doc.erase("updated_at");
  if (!doc.contains("jobs") || !doc["jobs"].is_array()) doc["jobs"] = json::array();
  if (!doc.contains("groups") || !doc["groups"].is_array()) doc["groups"] = json::array();
  std::map<int64_t, const json*> jobs;
  for (const json& j : doc["jobs"])
    if (j.is_object() && j.contains("id") && j["id"].is_number_integer())
      jobs[j["id"].get<int64_t>()] = &j;

  std::map<std::string, std::string> badges;  // stem -> result
  for (json& g : doc["groups"]) {
    if (!g.is_object()) continue;
    std::string name =
        g.contains("name") && g["name"].is_string() ? g["name"].get<std::string>() : "";
    std::string stem = badge_stem(name);
    g["badge"] = fmt::format("badge/{}.svg", stem);
    badges[stem] = newest_finished_result(g, jobs);
  }
  auto old_status = read_file(www / "status.json");
  std::string status_json = status_text(doc, old_status ? *old_status : std::string(), now);
  old_status = std::string();  // release it before rendering

  SiteWriter site(www);
  if (auto st = site.write("style.css", *css); !st) return st.error();
  if (auto st = site.write("age.js", *script); !st) return st.error();
  std::set<std::string> pages;
  std::set<std::string> dirty_groups;
  for (const auto& [id, job] : jobs) {
    if (only_jobs && !only_jobs->count(id)) continue;
    if (only_jobs && job->contains("group") && (*job)["group"].is_string())
      dirty_groups.insert(badge_stem((*job)["group"].get<std::string>()));
    json view = job_view(config, paths, *job);
    std::string page = std::to_string(id);
    if (auto st = site.write("job/" + page + ".html", job_tmpl->render(view)); !st)
      return st.error();
    pages.insert(page);
  }
  std::set<std::string> stems;
  for (const auto& [stem, result] : badges) {
    if (only_jobs && !dirty_groups.count(stem)) continue;
    if (auto st = site.write("badge/" + stem + ".svg", render_badge(result)); !st)
      return st.error();
    stems.insert(stem);
  }
  json index = index_view(config, paths, doc);
  if (auto st = site.write("index.html", index_tmpl->render(index)); !st) return st.error();
  if (auto st = site.write("status.json", status_json); !st) return st.error();
  // What was written reaches the disk before the caller records this publish as done.
  if (!site.out.written.empty())
    if (auto st = sync_filesystem(www); !st) return st.error();
  if (only_jobs) return std::move(site.out);  // pruning lists every page: full publishes only
  if (auto st = site.prune("job", ".html", pages); !st) return st.error();
  if (auto st = site.prune("badge", ".svg", stems); !st) return st.error();
  return std::move(site.out);
}

}  // namespace runbot
