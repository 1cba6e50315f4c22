#include "site/view.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

#include "site/names.h"
#include "util/clock.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json& field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string text(const json& j, const char* key) {
  const json& v = field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

// The string, or null when empty or absent (so `{{#x}}` sections hide it).
json opt_text(const json& j, const char* key) {
  std::string s = text(j, key);
  return s.empty() ? json(nullptr) : json(s);
}

bool flag(const json& j, const char* key) {
  const json& v = field(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::optional<int64_t> integer(const json& j, const char* key) {
  const json& v = field(j, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::optional<Time> time_field(const json& j, const char* key) {
  return parse_iso8601(text(j, key));
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

json steps_view(const json& job) {
  json steps = json::array();
  const json& list = field(job, "steps");
  if (!list.is_array()) return steps;
  for (const json& s : list) {
    const json& seconds = field(s, "seconds");
    auto exit = integer(s, "exit");
    bool timed_out = flag(s, "timed_out");
    auto href = log_href(text(s, "log"));
    steps.push_back({{"name", text(s, "name")},
                     {"exit", exit ? json(*exit) : json("-")},
                     {"seconds", seconds.is_number() ? number_text(seconds.get<double>()) : "-"},
                     {"errors", integer(s, "errors").value_or(0)},
                     {"warnings", integer(s, "warnings").value_or(0)},
                     {"timed_out", timed_out},
                     {"failed", timed_out || (exit && *exit != 0)},
                     {"log_href", href ? json(*href) : json(nullptr)}});
  }
  return steps;
}

json artifacts_view(const Config& config, const Paths& paths, int64_t id,
                    const std::string& state) {
  json out = json::array();
  if (state != "running" && state != "done") return out;
  for (const std::string& a : config.build.artifacts) {
    std::error_code ec;
    if (!is_safe_artifact(a) || !fs::is_directory(paths.job(id) / "src" / a, ec)) continue;
    out.push_back({{"name", a}, {"href", fmt::format("/jobs/{}/src/{}/", id, a)}});
  }
  return out;
}

// In the config's build order, then any project the config no longer has.
json revisions_view(const Config& config, const json& job) {
  json out = json::array();
  const json& revs = field(job, "revisions");
  if (!revs.is_object()) return out;
  std::vector<std::string> order;
  for (const ProjectConfig& p : config.projects)
    if (revs.contains(p.name)) order.push_back(p.name);
  for (const auto& [project, r] : revs.items())
    if (!config.project(project)) order.push_back(project);
  for (const std::string& project : order) {
    const json& r = revs[project];
    out.push_back({{"project", project},
                   {"branch", text(r, "branch")},
                   {"rev", text(r, "rev")},
                   {"remote", text(r, "remote")},
                   {"fallback", flag(r, "fallback")}});
  }
  return out;
}

}  // namespace

std::optional<Time> parse_iso8601(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (s.size() != 20 ||
      sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 20)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<Time>(timegm(&tm));
}

std::string short_time(Time t) {
  std::string iso = iso8601(t);  // 2026-11-24T12:00:00Z -> 2026-11-24 12:00 UTC
  return iso.size() >= 16 ? iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC" : iso;
}

std::string duration_text(Time seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{} s", seconds);
  if (seconds < 3600) return fmt::format("{} min {} s", seconds / 60, seconds % 60);
  return fmt::format("{} h {} min", seconds / 3600, seconds % 3600 / 60);
}

std::string job_class(const json& job) {
  std::string result = text(job, "result");
  for (const char* known : {"ok", "warn", "ko", "killed", "skipped"})
    if (result == known) return result;
  return text(job, "state") == "building" ? "building" : "pending";
}

json job_view(const Config& config, const Paths& paths, const json& job) {
  int64_t id = integer(job, "id").value_or(0);
  std::string state = text(job, "state");
  std::string result = text(job, "result");
  auto started = time_field(job, "started_at");
  auto finished = time_field(job, "finished_at");
  std::string url = text(job, "url");
  bool connect = state == "running" && is_plain_http_url(url);
  const json& coverage = field(job, "coverage");
  auto port = integer(job, "port");
  json steps = steps_view(job);
  json artifacts = artifacts_view(config, paths, id, state);
  return {{"id", id},
          {"page", fmt::format("job/{}.html", id)},
          {"group", text(job, "group")},
          {"state", state},
          {"result", result.empty() ? json(nullptr) : json(result)},
          {"label", result.empty() ? state : result},
          {"cls", job_class(job)},
          {"manual", flag(job, "manual")},
          {"pinned", flag(job, "pinned")},
          {"reason", opt_text(job, "reason")},
          {"note", opt_text(job, "note")},
          {"created_at", opt_text(job, "created_at")},
          {"started_at", opt_text(job, "started_at")},
          {"finished_at", opt_text(job, "finished_at")},
          {"duration", started && finished ? json(duration_text(*finished - *started)) : json()},
          {"revisions", revisions_view(config, job)},
          {"steps", steps},
          {"has_steps", !steps.empty()},
          {"artifacts", artifacts},
          {"has_artifacts", !artifacts.empty()},
          {"coverage",
           coverage.is_number() ? json(number_text(coverage.get<double>()) + "%") : json(nullptr)},
          {"port", port ? json(*port) : json(nullptr)},
          {"connect", connect ? json(url) : json(nullptr)}};
}

json cell_view(const Config& config, const Paths& paths, const json& job) {
  json cell = job_view(config, paths, job);
  // Ages are shown by the page's script from the absolute time, so the HTML stays the same
  // while nothing changes (an idle tick rewrites nothing).
  auto created = time_field(job, "created_at");
  cell["age"] = created ? json(short_time(*created)) : json(nullptr);
  if (text(job, "state") == "building") cell["building_since"] = opt_text(job, "started_at");
  return cell;
}

json group_view(const json& group, const IndexCells& cells) {
  std::string name = text(group, "name");
  std::string base = text(group, "base");
  json warnings = field(group, "warnings").is_array() ? field(group, "warnings") : json::array();
  return {{"name", name},
          {"base", base.empty() || base == name ? json(nullptr) : json(base)},
          {"is_base", flag(group, "is_base")},
          {"deleted", flag(group, "deleted")},
          {"warnings", warnings},
          {"badge", opt_text(group, "badge")},
          {"cells", cells.html},
          {"has_jobs", !cells.html.empty()},
          {"hidden", cells.hidden ? json(cells.hidden) : json(nullptr)}};
}

json index_view(const Config& config, const json& next_job_id, bool has_groups,
                const json& remote_list, const std::string& groups_html) {
  json remotes = json::array();
  for (const json& r : remote_list.is_array() ? remote_list : json::array())
    if (field(r, "ok").is_boolean() && !flag(r, "ok"))
      remotes.push_back({{"project", text(r, "project")},
                         {"remote", text(r, "remote")},
                         {"message", text(r, "message")}});
  return {{"next_job_id", next_job_id.is_number_integer() ? next_job_id : json(nullptr)},
          {"domain", config.runbot.domain},
          {"groups", groups_html},
          {"has_groups", has_groups},
          {"remote_warnings", remotes}};
}

}  // namespace runbot
