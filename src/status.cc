#include "status.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "job/job_file.h"
#include "site/names.h"
#include "util/clock.h"
#include "util/json_fields.h"

namespace runbot {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json time_json(Time t) { return t ? json(iso8601(t)) : json(nullptr); }

// Invalid UTF-8 (branch names are bytes) is replaced rather than refused.
std::string compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// `s` as a JSON string, exactly as compact() writes it: printable ASCII is copied as is,
// anything else (escapes, UTF-8, invalid bytes) goes through nlohmann.
void append_string(std::string& out, const std::string& s) {
  bool plain = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += compact(json(s));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// `s` as status.json shows it once parsed: invalid UTF-8 replaced by U+FFFD, so that a page
// says what status.json says (and is valid UTF-8).
std::string as_in_json(const std::string& s) {
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; })) return s;
  return json::parse(compact(json(s))).get<std::string>();
}

void append_time(std::string& out, const std::string& iso) {
  if (iso.empty())
    out += "null";
  else
    append_string(out, iso);
}

std::vector<JobFacts::Step> step_facts(const json& steps) {
  using namespace json_fields;
  std::vector<JobFacts::Step> out;
  if (!steps.is_array()) return out;
  for (const json& s : steps)
    out.push_back({text(s, "name"), integer(s, "exit"), number(s, "seconds"),
                   integer(s, "errors").value_or(0), integer(s, "warnings").value_or(0),
                   flag(s, "timed_out"), text(s, "log")});
  return out;
}

// A row's status.json line (keys in the order a JSON object dump sorts them, so it equals
// the dump of the same job as an object) and, when asked, its facts.
StatusSource::Published publish_row(const Config& config, const Paths& paths,
                                    const StatusSource::Row& row, bool with_facts) {
  const Job& job = row.job;
  std::vector<Revision> revs = Db::parse_revisions(row.revisions, job.id);
  std::map<std::string_view, const Revision*> by_project;  // as in an object: the last one wins
  for (const Revision& r : revs) by_project[r.project] = &r;
  json details = json::object();
  if (!job.details.empty())
    details = json::parse(job.details, nullptr, false);
  else if (job.state == JobState::building)
    details = read_job_details(paths, job.id);
  if (!details.is_object()) details = json::object();
  auto steps = details.find("steps");
  auto coverage = details.find("coverage");
  bool live = job.state == JobState::running && job.port;

  StatusSource::Published out;
  JobFacts& f = out.facts;
  f.id = job.id;
  f.state = to_string(job.state);
  f.result = job.result ? std::string(to_string(*job.result)) : std::string();
  f.created_at = iso8601(job.created_at);
  f.started_at = iso8601(job.started_at);
  f.finished_at = iso8601(job.finished_at);
  if (live) {
    f.port = job.port;
    f.url = instance_url(config.runbot, job.id);
  }

  std::string& l = out.line;
  l.reserve(512 + job.reason.size() + row.revisions.size() + job.details.size());
  l += "{\"coverage\":";
  l += coverage != details.end() ? compact(*coverage) : "null";
  l += ",\"created_at\":";
  append_time(l, f.created_at);
  l += ",\"finished_at\":";
  append_time(l, f.finished_at);
  l += ",\"group\":";
  append_string(l, job.group);
  l += fmt::format(",\"id\":{},\"manual\":{},\"note\":", job.id, job.manual);
  append_string(l, job.note);
  l += fmt::format(",\"pinned\":{},\"port\":", job.pinned);
  l += f.port ? std::to_string(*f.port) : "null";
  l += ",\"reason\":";
  append_string(l, job.reason);
  l += ",\"result\":";
  if (job.result)
    append_string(l, f.result);
  else
    l += "null";
  l += ",\"revisions\":{";
  bool first = true;
  for (const auto& [project, r] : by_project) {
    if (!first) l += ',';
    first = false;
    append_string(l, r->project);
    l += ":{\"branch\":";
    append_string(l, r->branch);
    l += fmt::format(",\"fallback\":{},\"remote\":", r->fallback);
    append_string(l, r->remote);
    l += ",\"rev\":";
    append_string(l, r->rev);
    l += '}';
  }
  l += "},\"started_at\":";
  append_time(l, f.started_at);
  l += ",\"state\":";
  append_string(l, f.state);
  l += ",\"steps\":";
  l += steps != details.end() ? compact(*steps) : "[]";
  l += ",\"url\":";
  if (live)
    append_string(l, f.url);
  else
    l += "null";
  l += '}';

  if (!with_facts) return out;
  f.group = as_in_json(job.group);
  f.manual = job.manual;
  f.pinned = job.pinned;
  f.reason = as_in_json(job.reason);
  f.note = as_in_json(job.note);
  if (job.created_at) f.created = job.created_at;
  if (job.started_at) f.started = job.started_at;
  if (job.finished_at) f.finished = job.finished_at;
  for (const auto& [project, r] : by_project)
    f.revisions.push_back({as_in_json(r->project), as_in_json(r->branch), as_in_json(r->rev),
                           as_in_json(r->remote), r->fallback});
  if (steps != details.end()) f.steps = step_facts(*steps);
  if (coverage != details.end() && coverage->is_number()) f.coverage = coverage->get<double>();
  return out;
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

JobFacts job_facts(const json& job) {
  using namespace json_fields;
  JobFacts f;
  f.id = integer(job, "id").value_or(0);
  f.group = text(job, "group");
  f.state = text(job, "state");
  f.result = text(job, "result");
  f.manual = flag(job, "manual");
  f.pinned = flag(job, "pinned");
  f.reason = text(job, "reason");
  f.note = text(job, "note");
  f.created_at = text(job, "created_at");
  f.started_at = text(job, "started_at");
  f.finished_at = text(job, "finished_at");
  f.created = parse_iso8601(f.created_at);
  f.started = parse_iso8601(f.started_at);
  f.finished = parse_iso8601(f.finished_at);
  if (const json& revs = field(job, "revisions"); revs.is_object())
    for (const auto& [project, r] : revs.items())
      f.revisions.push_back(
          {project, text(r, "branch"), text(r, "rev"), text(r, "remote"), flag(r, "fallback")});
  f.steps = step_facts(field(job, "steps"));
  f.coverage = number(job, "coverage");
  f.port = integer(job, "port");
  f.url = text(job, "url");
  return f;
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
  source.publish_row = [&config, &paths](const StatusSource::Row& row, bool with_facts) {
    return publish_row(config, paths, row, with_facts);
  };
  source.for_each_job = [rows = source.for_each_row,
                         publish = source.publish_row](const StatusSource::JobCallback& each) {
    return rows(
        [&](StatusSource::Row&& row) { return each(json::parse(publish(row, false).line)); });
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
  Status jobs = source.for_each_row && source.publish_row
                    ? source.for_each_row([&](StatusSource::Row&& row) {
                        return writer.job_line(source.publish_row(row, false).line);
                      })
                    : source.for_each_job([&](json&& job) { return writer.job(job); });
  if (!jobs) return jobs;
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
