#include "status.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "job/job_file.h"
#include "site/names.h"
#include "util/clock.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json time_json(Time t) { return t ? json(iso8601(t)) : json(nullptr); }

json job_json(const Config& config, const Paths& paths, const Job& job,
              const std::vector<Revision>& revs) {
  json revisions = json::object();
  for (const Revision& r : revs)
    revisions[r.project] = {
        {"rev", r.rev}, {"branch", r.branch}, {"remote", r.remote}, {"fallback", r.fallback}};
  json details = json::object();
  if (!job.details.empty())
    details = json::parse(job.details, nullptr, false);
  else if (job.state == JobState::building)
    details = read_job_details(paths, job.id);
  if (!details.is_object()) details = json::object();
  json steps = details.contains("steps") ? details["steps"] : json::array();
  json coverage = details.contains("coverage") ? details["coverage"] : json(nullptr);
  bool live = job.state == JobState::running && job.port;
  return {{"id", job.id},
          {"group", job.group},
          {"state", to_string(job.state)},
          {"result", job.result ? json(to_string(*job.result)) : json(nullptr)},
          {"manual", job.manual},
          {"pinned", job.pinned},
          {"reason", job.reason},
          {"note", job.note},
          {"revisions", revisions},
          {"created_at", time_json(job.created_at)},
          {"started_at", time_json(job.started_at)},
          {"finished_at", time_json(job.finished_at)},
          {"steps", steps},
          {"coverage", coverage},
          {"port", live ? json(job.port) : json(nullptr)},
          {"url", live ? json(instance_url(config.runbot, job.id)) : json(nullptr)}};
}

// Base groups first (in config order), then the others by last activity, newest first.
std::vector<GroupRecord> ordered_groups(const Config& config, std::vector<GroupRecord> groups) {
  std::map<std::string, size_t> base_rank;
  for (const auto& p : config.projects)
    for (const auto& b : p.base_branches) base_rank.emplace(b, base_rank.size());
  auto key = [&](const GroupRecord& g) {
    auto it = base_rank.find(g.name);
    size_t rank = g.is_base && it != base_rank.end() ? it->second : base_rank.size();
    return std::tuple(g.is_base ? 0 : 1, rank, -g.last_activity, g.name);
  };
  std::sort(groups.begin(), groups.end(),
            [&](const GroupRecord& a, const GroupRecord& b) { return key(a) < key(b); });
  return groups;
}

}  // namespace

json read_job_details(const Paths& paths, int64_t id) {
  fs::path dir = paths.job(id);
  json steps = json::array();
  if (auto recorded = read_steps(dir)) {
    for (const StepRecord& s : *recorded)
      steps.push_back({{"name", s.name},
                       {"exit", s.exit},
                       {"seconds", s.seconds},
                       {"errors", s.errors},
                       {"warnings", s.warnings},
                       {"timed_out", s.timed_out},
                       {"log", fmt::format("jobs/{}/{}", id, s.log)}});
  }
  json coverage = nullptr;
  json artifacts = json::array();
  if (auto result = read_result(dir); result && *result) {
    if ((*result)->coverage) coverage = *(*result)->coverage;
    for (const auto& a : (*result)->artifacts)
      artifacts.push_back(fmt::format("jobs/{}/{}", id, a));
  }
  return {{"steps", steps}, {"coverage", coverage}, {"artifacts", artifacts}};
}

StatusSource status_source(const Config& config, const Paths& paths, Db& db) {
  StatusSource source;
  source.next_job_id = db.next_job_id();
  auto ids = db.job_ids_by_group();
  for (const GroupRecord& g : ordered_groups(config, db.groups())) {
    auto it = ids.find(g.name);
    source.groups.push_back({{"name", g.name},
                             {"base", g.base},
                             {"is_base", g.is_base},
                             {"deleted", g.deleted},
                             {"warnings", g.warnings},
                             {"last_activity", time_json(g.last_activity)},
                             {"badge", fmt::format("badge/{}.svg", badge_stem(g.name))},
                             {"jobs", it == ids.end() ? json::array() : json(it->second)}});
  }
  for (const RemoteStatus& r : db.remote_statuses())
    // No fetch time here: it changes every tick, and an idle tick must rewrite nothing.
    source.remotes.push_back(
        {{"project", r.project}, {"remote", r.remote}, {"ok", r.ok}, {"message", r.message}});
  source.for_each_row = [&db](const StatusSource::RowCallback& each) {
    Status status;
    db.for_each_job_newest_first([&](Job&& job, std::string&& revisions) {
      status = each(StatusSource::Row{std::move(job), std::move(revisions)});
      return status.ok();
    });
    return status;
  };
  source.job_json = [&config, &paths](const StatusSource::Row& row) {
    return job_json(config, paths, row.job, Db::parse_revisions(row.revisions, row.job.id));
  };
  source.for_each_job = [rows = source.for_each_row,
                         to_json = source.job_json](const StatusSource::JobCallback& each) {
    return rows([&](StatusSource::Row&& row) { return each(to_json(row)); });
  };
  return source;
}

Result<StatusSource> status_source(json document) {
  if (!document.is_object()) return Error{"status document is not a JSON object"};
  StatusSource source;
  auto part = [&](const char* key, json fallback) {
    auto it = document.find(key);
    return it != document.end() && it->type() == fallback.type() ? std::move(*it) : fallback;
  };
  auto next = document.find("next_job_id");
  if (next != document.end() && next->is_number_integer()) source.next_job_id = *next;
  source.groups = part("groups", json::array());
  source.remotes = part("remotes", json::array());
  auto jobs = std::make_shared<json>(part("jobs", json::array()));
  source.for_each_job = [jobs](const StatusSource::JobCallback& each) -> Status {
    for (const json& job : *jobs)
      if (auto st = each(json(job)); !st) return st;
    return {};
  };
  return source;
}

namespace {
// Invalid UTF-8 (branch names are bytes) is replaced rather than refused.
std::string compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}
}  // namespace

Status StatusJsonWriter::begin(Time updated_at, const json& next_job_id, const json& groups) {
  std::string text = fmt::format(R"({{"version": 1, "updated_at": "{}", "next_job_id": {},)",
                                 iso8601(updated_at), compact(next_job_id));
  text += "\n \"groups\": [";
  bool first = true;
  for (const json& g : groups) {
    text += first ? "\n  " : ",\n  ";
    text += compact(g);
    first = false;
  }
  text += "],\n \"jobs\": [";
  return sink_(text);
}

std::string StatusJsonWriter::line(const json& job) { return compact(job); }

Status StatusJsonWriter::job_line(std::string_view line) {
  std::string text = first_job_ ? "\n  " : ",\n  ";
  first_job_ = false;
  text += line;
  return sink_(text);
}

Status StatusJsonWriter::end(const json& remotes) {
  return sink_(fmt::format("],\n \"remotes\": {}}}\n", compact(remotes)));
}

Status write_status_json(StatusSource& source, Time now, const StatusJsonWriter::Sink& sink) {
  StatusJsonWriter writer(sink);
  if (auto st = writer.begin(now, source.next_job_id, source.groups); !st) return st;
  if (auto st = source.for_each_job([&](json&& job) { return writer.job(job); }); !st) return st;
  return writer.end(source.remotes);
}

json status_document(const Config& config, const Paths& paths, Db& db) {
  StatusSource source = status_source(config, paths, db);
  json jobs = json::array();
  (void)source.for_each_job([&](json&& job) {
    jobs.push_back(std::move(job));
    return Status{};
  });
  return {{"version", 1},
          {"next_job_id", source.next_job_id},
          {"groups", std::move(source.groups)},
          {"jobs", std::move(jobs)},
          {"remotes", std::move(source.remotes)}};
}

std::string status_text(const Config& config, const Paths& paths, Db& db) {
  std::vector<Job> jobs = db.jobs();
  std::map<std::string, std::vector<const Job*>> by_group;
  std::map<JobState, int> counts;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    by_group[it->group].push_back(&*it);
    counts[it->state]++;
  }
  std::string out = fmt::format(
      "{}: {} projects, {} jobs ({} pending, {} building, {} running), next job id {}\n",
      paths.root.string(), config.projects.size(), jobs.size(), counts[JobState::pending],
      counts[JobState::building], counts[JobState::running], db.next_job_id());
  for (const RemoteStatus& r : db.remote_statuses())
    if (!r.ok)
      out += fmt::format("warning: {}: fetch of {} failed: {}\n", r.project, r.remote, r.message);
  Time t = now();
  for (const GroupRecord& g : ordered_groups(config, db.groups())) {
    out += fmt::format("\n{}{}{}\n", g.name, g.is_base ? " [base]" : "",
                       g.deleted ? " [deleted]" : "");
    for (const auto& w : g.warnings) out += fmt::format("  warning: {}\n", w);
    int shown = 0;
    for (const Job* j : by_group[g.name]) {
      if (++shown > 5) break;
      std::string result = j->result ? std::string(to_string(*j->result)) : "-";
      std::string extra =
          j->state == JobState::running && j->port ? "  " + instance_url(config.runbot, j->id) : "";
      out += fmt::format("  #{:<6} {:<8} {:<7} {:>6}s ago  {}{}{}{}\n", j->id, to_string(j->state),
                         result, t - j->created_at, j->reason, j->note.empty() ? "" : " / ",
                         j->note, extra);
    }
  }
  return out;
}

}  // namespace runbot
