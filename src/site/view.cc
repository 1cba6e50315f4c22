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

View text_view(std::string s) { return View{std::move(s)}; }
View opt_view(const json& j, const char* key) {
  std::string s = text(j, key);
  return s.empty() ? View{false} : View{std::move(s)};
}
View number_view(int64_t v) { return View{std::to_string(v)}; }

View steps_view(const json& job) {
  View steps{View::type::list};
  const json& list = field(job, "steps");
  if (!list.is_array()) return steps;
  for (const json& s : list) {
    const json& seconds = field(s, "seconds");
    auto exit = integer(s, "exit");
    bool timed_out = flag(s, "timed_out");
    auto href = log_href(text(s, "log"));
    View step;
    put(step, "name", text_view(text(s, "name")));
    put(step, "exit", exit ? number_view(*exit) : View{"-"});
    put(step, "seconds",
        View{seconds.is_number() ? number_text(seconds.get<double>()) : std::string("-")});
    put(step, "errors", number_view(integer(s, "errors").value_or(0)));
    put(step, "warnings", number_view(integer(s, "warnings").value_or(0)));
    put(step, "timed_out", View{timed_out});
    put(step, "failed", View{timed_out || (exit && *exit != 0)});
    put(step, "log_href", href ? View{*href} : View{false});
    append(steps, std::move(step));
  }
  return steps;
}

View artifacts_view(const Config& config, const Paths& paths, int64_t id,
                    const std::string& state) {
  View out{View::type::list};
  if (config.build.artifacts.empty() || (state != "running" && state != "done")) return out;
  for (const std::string& a : config.build.artifacts) {
    std::error_code ec;
    if (!is_safe_artifact(a) || !fs::is_directory(paths.job(id) / "src" / a, ec)) continue;
    View artifact;
    put(artifact, "name", View{a});
    put(artifact, "href", View{fmt::format("/jobs/{}/src/{}/", id, a)});
    append(out, std::move(artifact));
  }
  return out;
}

// In the config's build order, then any project the config no longer has.
View revisions_view(const Config& config, const json& job) {
  View out{View::type::list};
  const json& revs = field(job, "revisions");
  if (!revs.is_object()) return out;
  auto add = [&](const std::string& project, const json& r) {
    View rev;
    put(rev, "project", View{project});
    put(rev, "branch", text_view(text(r, "branch")));
    put(rev, "rev", text_view(text(r, "rev")));
    put(rev, "remote", text_view(text(r, "remote")));
    put(rev, "fallback", View{flag(r, "fallback")});
    append(out, std::move(rev));
  };
  for (const ProjectConfig& p : config.projects)
    if (auto it = revs.find(p.name); it != revs.end()) add(p.name, *it);
  for (const auto& [project, r] : revs.items())
    if (!config.project(project)) add(project, r);
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

View job_view(const Config& config, const Paths& paths, const json& job) {
  int64_t id = integer(job, "id").value_or(0);
  std::string state = text(job, "state");
  std::string result = text(job, "result");
  auto started = time_field(job, "started_at");
  auto finished = time_field(job, "finished_at");
  std::string url = text(job, "url");
  bool connect = state == "running" && is_plain_http_url(url);
  const json& coverage = field(job, "coverage");
  auto port = integer(job, "port");
  View steps = steps_view(job);
  View artifacts = artifacts_view(config, paths, id, state);
  View v;
  put(v, "id", number_view(id));
  put(v, "page", View{fmt::format("job/{}.html", id)});
  put(v, "group", text_view(text(job, "group")));
  put(v, "label", View{result.empty() ? state : result});
  put(v, "state", View{std::move(state)});
  put(v, "result", result.empty() ? View{false} : View{result});
  put(v, "cls", View{job_class(job)});
  put(v, "manual", View{flag(job, "manual")});
  put(v, "pinned", View{flag(job, "pinned")});
  put(v, "reason", opt_view(job, "reason"));
  put(v, "note", opt_view(job, "note"));
  put(v, "created_at", opt_view(job, "created_at"));
  put(v, "started_at", opt_view(job, "started_at"));
  put(v, "finished_at", opt_view(job, "finished_at"));
  put(v, "duration",
      started && finished ? View{duration_text(*finished - *started)} : View{false});
  put(v, "revisions", revisions_view(config, job));
  put(v, "has_steps", View{steps.is_non_empty_list()});
  put(v, "steps", std::move(steps));
  put(v, "has_artifacts", View{artifacts.is_non_empty_list()});
  put(v, "artifacts", std::move(artifacts));
  put(v, "coverage",
      coverage.is_number() ? View{number_text(coverage.get<double>()) + "%"} : View{false});
  put(v, "port", port ? number_view(*port) : View{false});
  put(v, "connect", connect ? View{url} : View{false});
  return v;
}

void add_cell_fields(View& view, const json& job) {
  // Ages are shown by the page's script from the absolute time, so the HTML stays the same
  // while nothing changes (an idle tick rewrites nothing).
  auto created = time_field(job, "created_at");
  put(view, "age", created ? View{short_time(*created)} : View{false});
  put(view, "building_since",
      text(job, "state") == "building" ? opt_view(job, "started_at") : View{false});
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
