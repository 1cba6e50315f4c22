#include "site/view.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

#include "site/names.h"
#include "util/clock.h"
#include "util/json_fields.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using json_fields::field;
using json_fields::flag;
using json_fields::text;

// The string, or null when empty or absent (so `{{#x}}` sections hide it).
json opt_text(const json& j, const char* key) {
  std::string s = text(j, key);
  return s.empty() ? json(nullptr) : json(s);
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

View opt_view(const std::string& s) { return s.empty() ? View{false} : View{s}; }
View number_view(int64_t v) { return View{std::to_string(v)}; }

View steps_view(const std::vector<JobFacts::Step>& list) {
  View steps{View::type::list};
  for (const JobFacts::Step& s : list) {
    auto href = log_href(s.log);
    View step;
    put(step, "name", View{s.name});
    put(step, "exit", s.exit ? number_view(*s.exit) : View{"-"});
    put(step, "seconds", View{s.seconds ? number_text(*s.seconds) : std::string("-")});
    put(step, "errors", number_view(s.errors));
    put(step, "warnings", number_view(s.warnings));
    put(step, "timed_out", View{s.timed_out});
    put(step, "failed", View{s.timed_out || (s.exit && *s.exit != 0)});
    put(step, "log_href", href ? View{*href} : View{false});
    append(steps, std::move(step));
  }
  return steps;
}

View errors_view(const JobFacts& job) {
  View out{View::type::list};
  for (const JobFacts::Error& e : job.errors) {
    std::optional<std::string> href;
    for (const JobFacts::Step& s : job.steps)
      if (s.name == e.step) href = log_href(s.log);
    View error;
    put(error, "class", View{e.cls});
    put(error, "step", View{e.step});
    put(error, "text", View{e.text});
    put(error, "trace", e.trace.empty() || e.trace == e.text ? View{false} : View{e.trace});
    put(error, "fingerprint", View{e.fingerprint});
    put(error, "line", e.line > 0 ? number_view(e.line) : View{false});
    put(error, "log_href", href ? View{*href} : View{false});
    append(out, std::move(error));
  }
  return out;
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
View revisions_view(const Config& config, const std::vector<JobFacts::Revision>& revs) {
  View out{View::type::list};
  auto add = [&](const JobFacts::Revision& r) {
    View rev;
    put(rev, "project", View{r.project});
    put(rev, "branch", View{r.branch});
    put(rev, "rev", View{r.rev});
    put(rev, "remote", View{r.remote});
    put(rev, "fallback", View{r.fallback});
    append(out, std::move(rev));
  };
  for (const ProjectConfig& p : config.projects)
    for (const JobFacts::Revision& r : revs)
      if (r.project == p.name) add(r);
  for (const JobFacts::Revision& r : revs)
    if (!config.project(r.project)) add(r);
  return out;
}

}  // namespace

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

std::string job_class(const JobFacts& job) {
  for (const char* known : {"ok", "warn", "ko", "killed", "skipped"})
    if (job.result == known) return job.result;
  return job.state == "building" ? "building" : "pending";
}

View job_view(const Config& config, const Paths& paths, const JobFacts& job) {
  bool connect = job.state == "running" && is_plain_http_url(job.url);
  View steps = steps_view(job.steps);
  View artifacts = artifacts_view(config, paths, job.id, job.state);
  View v;
  put(v, "id", number_view(job.id));
  put(v, "page", View{fmt::format("job/{}.html", job.id)});
  put(v, "group", View{job.group});
  put(v, "label", View{job.result.empty() ? job.state : job.result});
  put(v, "state", View{job.state});
  put(v, "result", opt_view(job.result));
  put(v, "cls", View{job_class(job)});
  put(v, "manual", View{job.manual});
  put(v, "pinned", View{job.pinned});
  put(v, "reason", opt_view(job.reason));
  put(v, "note", opt_view(job.note));
  put(v, "created_at", opt_view(job.created_at));
  put(v, "started_at", opt_view(job.started_at));
  put(v, "finished_at", opt_view(job.finished_at));
  put(v, "duration",
      job.started && job.finished ? View{duration_text(*job.finished - *job.started)}
                                  : View{false});
  put(v, "revisions", revisions_view(config, job.revisions));
  put(v, "has_steps", View{steps.is_non_empty_list()});
  put(v, "steps", std::move(steps));
  View errors = errors_view(job);
  put(v, "has_errors", View{errors.is_non_empty_list()});
  put(v, "errors", std::move(errors));
  int64_t more = job.error_count - static_cast<int64_t>(job.errors.size());
  put(v, "more_errors", more > 0 ? number_view(more) : View{false});
  put(v, "explained", View{job.explained});
  put(v, "has_artifacts", View{artifacts.is_non_empty_list()});
  put(v, "artifacts", std::move(artifacts));
  put(v, "coverage", job.coverage ? View{number_text(*job.coverage) + "%"} : View{false});
  put(v, "port", job.port ? number_view(*job.port) : View{false});
  put(v, "connect", connect ? View{job.url} : View{false});
  return v;
}

void add_cell_fields(View& view, const JobFacts& job) {
  // Ages are shown by the page's script from the absolute time, so the HTML stays the same
  // while nothing changes (an idle tick rewrites nothing).
  put(view, "age", job.created ? View{short_time(*job.created)} : View{false});
  put(view, "building_since", job.state == "building" ? opt_view(job.started_at) : View{false});
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
