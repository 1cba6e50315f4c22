#include "site/view.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

#include "site/names.h"
#include "util/clock.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

std::string number_text(double v) { return fmt::format("{:g}", v); }

View opt_view(const std::string& s) { return s.empty() ? View{false} : View{s}; }
View number_view(int64_t v) { return View{std::to_string(v)}; }

// A collected job's logs went with its folder: its steps say so instead of linking to a 404.
View steps_view(const Config& config, const JobFacts& job) {
  View steps{View::type::list};
  for (const JobFacts::Step& s : job.steps) {
    auto href = job.collected ? std::nullopt : log_href(s.log);
    std::string viewer = job.collected ? "" : log_viewer_href(config, job.id, s);
    View step;
    put(step, "name", View{s.name});
    put(step, "exit", s.exit ? number_view(*s.exit) : View{"-"});
    put(step, "seconds", View{s.seconds ? number_text(*s.seconds) : std::string("-")});
    put(step, "errors", number_view(s.errors));
    put(step, "warnings", number_view(s.warnings));
    put(step, "timed_out", View{s.timed_out});
    put(step, "failed", View{s.timed_out || (s.exit && *s.exit != 0)});
    put(step, "log_href", href ? View{*href} : View{false});
    put(step, "viewer", viewer.empty() ? View{false} : View{viewer});
    put(step, "removed", View{job.collected});
    append(steps, std::move(step));
  }
  return steps;
}

View errors_view(const JobFacts& job) {
  View out{View::type::list};
  for (const JobFacts::Error& e : job.errors) {
    std::optional<std::string> href;
    for (const JobFacts::Step& s : job.steps)
      if (s.name == e.step && !job.collected) href = log_href(s.log);
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

View artifacts_view(const Config& config, const Paths& paths, int64_t id, const std::string& state,
                    bool collected) {
  View out{View::type::list};
  if (collected || config.build.artifacts.empty() || (state != "running" && state != "done"))
    return out;
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
  View steps = steps_view(config, job);
  View artifacts = artifacts_view(config, paths, job.id, job.state, job.collected);
  View v;
  put(v, "id", number_view(job.id));
  put(v, "page", View{fmt::format("job/{}.html", job.id)});
  put(v, "group", View{job.group});
  put(v, "group_page", View{job.group_page});
  put(v, "root", View{"../"});  // job/<id>.html; the index's cells set ""
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
  put(v, "collected", View{job.collected});
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
  put(view, "root", View{""});
  put(view, "age", job.created ? View{short_time(*job.created)} : View{false});
  put(view, "building_since", job.state == "building" ? opt_view(job.started_at) : View{false});
}

namespace {

void put_group(View& v, const GroupFacts& group) {
  put(v, "name", View{group.label});
  put(v, "base", group.base.empty() || group.base == group.label ? View{false} : View{group.base});
  put(v, "is_base", View{group.is_base});
  put(v, "deleted", View{group.deleted});
  View warnings{View::type::list};
  for (const std::string& w : group.warnings) append(warnings, View{w});
  put(v, "warning", group.warnings.empty() ? View{false} : View{group.warnings.front()});
  put(v, "warnings", std::move(warnings));
  put(v, "badge", View{group.badge});
  put(v, "page", View{group.page});
}

}  // namespace

View group_card_view(const GroupFacts& group, const IndexCells& cells) {
  View v;
  put_group(v, group);
  put(v, "result", View{cells.result});
  put(v, "cells", View{cells.html});
  put(v, "has_jobs", View{!cells.html.empty()});
  put(v, "hidden", cells.hidden ? number_view(static_cast<int64_t>(cells.hidden)) : View{false});
  return v;
}

View group_row_view(const GroupFacts& group, const IndexCells& cells) {
  View v;
  put_group(v, group);
  put(v, "result", View{cells.result});
  put(v, "cells", View{cells.mini});
  put(v, "hidden", cells.hidden ? number_view(static_cast<int64_t>(cells.hidden)) : View{false});
  return v;
}

View index_view(const Config& config, const StatusHead& head, std::string rows_html,
                std::string cards_html) {
  View remotes{View::type::list};
  for (const RemoteStatus& r : head.remotes) {
    if (r.ok) continue;
    View remote;
    put(remote, "project", View{r.project});
    put(remote, "remote", View{r.remote});
    put(remote, "message", View{r.message});
    append(remotes, std::move(remote));
  }
  View v;
  put(v, "next_job_id", number_view(head.next_job_id));
  put(v, "domain", View{config.runbot.domain});
  put(v, "group_count", number_view(static_cast<int64_t>(head.groups.size())));
  put(v, "has_groups", View{!head.groups.empty()});
  put(v, "view", View{cards_html.empty() ? "compact" : "cards"});
  put(v, "has_cards", View{!cards_html.empty()});
  put(v, "rows", View{std::move(rows_html)});
  put(v, "cards", View{std::move(cards_html)});
  put(v, "remote_warnings", std::move(remotes));
  return v;
}

View group_rows_view(const Config& config, const std::vector<JobFacts>& jobs) {
  View rows{View::type::list};
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    const JobFacts& job = *it;
    View steps{View::type::list};
    for (const JobFacts::Step& s : job.steps) {
      std::string viewer = job.collected ? "" : log_viewer_href(config, job.id, s);
      if (viewer.empty()) continue;
      View step;
      put(step, "name", View{s.name});
      put(step, "viewer", View{viewer});
      append(steps, std::move(step));
    }
    View row;
    put(row, "id", number_view(job.id));
    put(row, "page", View{fmt::format("job/{}.html", job.id)});
    put(row, "cls", View{job_class(job)});
    put(row, "label", View{job.result.empty() ? job.state : job.result});
    put(row, "pinned", View{job.pinned});
    put(row, "reason", opt_view(job.reason));
    put(row, "note", opt_view(job.note));
    put(row, "created_at", opt_view(job.created_at));
    put(row, "duration",
        job.started && job.finished ? View{duration_text(*job.finished - *job.started)}
                                    : View{false});
    put(row, "steps", std::move(steps));
    put(row, "collected", View{job.collected});
    bool connect = job.state == "running" && is_plain_http_url(job.url);
    put(row, "connect", connect ? View{job.url} : View{false});
    add_cell_fields(row, job);
    append(rows, std::move(row));
  }
  return rows;
}

View group_page_view(const GroupFacts& group, View rows, int64_t n, int64_t pages, int64_t total,
                     bool main) {
  std::string root = main ? "../" : "../../";
  std::string key_path = group.page.substr(std::string("group/").size());  // "<key>.html"
  std::string key = key_path.substr(0, key_path.size() - 5);
  int64_t count = rows.is_list() ? static_cast<int64_t>(rows.list_value().size()) : 0;
  // Links from this page's folder: group/ for the main page, group/<key>/ for numbered ones.
  std::string numbered = main ? key + "/" : "";
  View older{View::type::list};
  if (main)
    for (int64_t k = pages - 1; k >= 1; --k) {
      View link;
      put(link, "n", number_view(k));
      put(link, "href", View{fmt::format("{}{}.html", numbered, k)});
      append(older, std::move(link));
    }
  View v;
  put_group(v, group);
  put(v, "root", View{root});
  put(v, "up", View{root});  // the rows' links (their own "root" is for a job page)
  put(v, "badge", View{root + group.badge});
  put(v, "main", View{main});
  put(v, "n", number_view(n));
  put(v, "pages", number_view(pages));
  put(v, "total", number_view(total));
  put(v, "first", number_view((n - 1) * kGroupPageJobs + 1));
  put(v, "last", number_view((n - 1) * kGroupPageJobs + count));
  put(v, "rows", std::move(rows));
  put(v, "has_rows", View{count > 0});
  put(v, "newest", View{main ? key_path : "../" + key_path});
  put(v, "previous", n > 1 ? View{fmt::format("{}{}.html", numbered, n - 1)} : View{false});
  // A numbered page depends only on its jobs and on whether it is the last one.
  put(v, "next",
      main        ? View{false}
      : n < pages ? View{fmt::format("{}.html", n + 1)}
                  : View{"../" + key_path});
  put(v, "older", std::move(older));
  put(v, "has_older", View{main && pages > 1});
  return v;
}

std::string log_viewer_href(const Config& config, int64_t job_id, const JobFacts::Step& step) {
  auto href = log_href(step.log);
  if (!href) return "";
  return fmt::format("log.html#log={}&job={}&step={}&e={}&w={}", url_encode(*href), job_id,
                     url_encode(step.name), url_encode(config.build.error_pattern),
                     url_encode(config.build.warning_pattern));
}

}  // namespace runbot
