#include "site/job_facts.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "job/details.h"
#include "site/names.h"
#include "util/clock.h"
#include "util/json_fields.h"

namespace runbot {

using nlohmann::json;

namespace {

std::vector<JobFacts::Step> step_facts(const json& steps) {
  using namespace json_fields;
  std::vector<JobFacts::Step> out;
  if (!steps.is_array()) return out;
  for (const json& s : steps)
    if (s.is_object())
      out.push_back({valid_utf8(text(s, "name")), integer(s, "exit"), number(s, "seconds"),
                     integer(s, "errors").value_or(0), integer(s, "warnings").value_or(0),
                     flag(s, "timed_out"), valid_utf8(text(s, "log"))});
  return out;
}

std::vector<JobFacts::Error> error_facts(const json& errors, const json& texts) {
  using namespace json_fields;
  std::vector<JobFacts::Error> out;
  if (!errors.is_array()) return out;
  for (size_t i = 0; i < errors.size(); ++i) {
    const json& e = errors[i];
    std::string trace = texts.is_array() && i < texts.size() && texts[i].is_string()
                            ? valid_utf8(texts[i].get<std::string>())
                            : std::string();
    out.push_back({valid_utf8(text(e, "fingerprint")), valid_utf8(text(e, "class")),
                   valid_utf8(text(e, "step")), valid_utf8(text(e, "text")), std::move(trace),
                   integer(e, "line").value_or(0)});
  }
  return out;
}

// A ko whose errors (those listed) are all known or flaky.
bool explained(const JobFacts& f) {
  return f.result == "ko" && !f.errors.empty() &&
         std::all_of(f.errors.begin(), f.errors.end(),
                     [](const JobFacts::Error& e) { return e.cls == "known" || e.cls == "flaky"; });
}

std::optional<Time> time_of(Time t) { return t ? std::optional<Time>(t) : std::nullopt; }

}  // namespace

JobFacts job_facts(const Config& config, const Paths& paths, const JobRow& row, bool revisions) {
  const Job& job = row.job;
  JobFacts f;
  f.id = job.id;
  f.collected = row.place > 0;  // only a collected job has its place in the history
  f.group = valid_utf8(job.group);
  f.group_page = group_page_path(job.group);
  f.state = to_string(job.state);
  f.result = job.result ? std::string(to_string(*job.result)) : std::string();
  f.manual = job.manual;
  f.pinned = job.pinned;
  f.reason = valid_utf8(job.reason);
  f.note = valid_utf8(job.note);
  f.created_at = iso8601(job.created_at);
  f.started_at = iso8601(job.started_at);
  f.finished_at = iso8601(job.finished_at);
  f.created = time_of(job.created_at);
  f.started = time_of(job.started_at);
  f.finished = time_of(job.finished_at);
  std::map<std::string, JobFacts::Revision> by_project;  // as in a JSON object: the last wins
  for (const Revision& r :
       revisions ? Db::parse_revisions(row.revisions, job.id) : std::vector<Revision>{}) {
    std::string project = valid_utf8(r.project);
    const ProjectConfig* p = config.project(r.project);
    bool fork = !p || p->remotes.empty() || p->remotes.front() != r.remote;
    by_project[project] = {
        project, valid_utf8(r.branch), valid_utf8(r.rev), valid_utf8(r.remote), r.fallback, fork};
  }
  for (auto& [project, r] : by_project) f.revisions.push_back(std::move(r));
  json details = json::object();
  if (!job.details.empty())
    details = json::parse(job.details, nullptr, false);
  else if (job.state == JobState::building)
    details = read_job_details(paths, job.id);
  if (details.is_object()) {
    f.steps = step_facts(json_fields::field(details, "steps"));
    f.coverage = json_fields::number(details, "coverage");
    if (auto errors = details.find("errors"); errors != details.end()) {
      auto texts = details.find("error_texts");
      f.errors = error_facts(*errors, texts != details.end() ? *texts : json());
      f.error_count = json_fields::integer(details, "error_count")
                          .value_or(static_cast<int64_t>(f.errors.size()));
      auto all = details.find("explained");
      f.explained = all != details.end() && all->is_boolean() ? all->get<bool>() && f.result == "ko"
                                                              : explained(f);
    }
  }
  if (job.state == JobState::running && job.port) {
    f.port = job.port;
    f.url = instance_url(config.runbot, job.id);
  }
  if (job.started_at || !job.host.empty()) {
    f.executor = job.executor;
    f.executor_id = job.executor_id;
    f.host = job.host;
  }
  return f;
}

void write_job(JsonWriter& w, const JobFacts& f) {
  w.begin_object();
  w.field("id", f.id).field("group", f.group).field("state", f.state);
  w.key("result").text_or_null(f.result);
  w.field("manual", f.manual).field("pinned", f.pinned);
  w.field("reason", f.reason).field("note", f.note);
  w.key("revisions").begin_object();
  for (const JobFacts::Revision& r : f.revisions) {
    w.key(r.project).begin_object();
    w.field("rev", r.rev).field("branch", r.branch);
    if (r.fork) w.field("remote", r.remote);
    w.field("fallback", r.fallback).end_object();
  }
  w.end_object();
  w.key("created_at").text_or_null(f.created_at);
  w.key("started_at").text_or_null(f.started_at);
  w.key("finished_at").text_or_null(f.finished_at);
  w.key("steps").begin_array();
  for (const JobFacts::Step& s : f.steps) {
    w.begin_object().field("name", s.name).field("exit", s.exit).field("seconds", s.seconds);
    w.field("errors", s.errors).field("warnings", s.warnings).field("timed_out", s.timed_out);
    w.field("log", s.log).end_object();
  }
  w.end_array();
  w.field("coverage", f.coverage);
  w.key("errors").begin_array();
  for (const JobFacts::Error& e : f.errors) {
    w.begin_object().field("fingerprint", e.fingerprint).field("class", e.cls);
    w.field("step", e.step).field("text", e.text).field("line", e.line).end_object();
  }
  w.end_array();
  w.field("port", f.port);
  w.key("url").text_or_null(f.url);
  w.key("executor");
  if (f.executor.empty()) {
    w.null();
  } else {
    w.begin_object().field("kind", f.executor);
    if (!f.executor_id.empty()) w.field("id", f.executor_id);
    w.key("host").text_or_null(f.host).end_object();
  }
  w.end_object();
}

std::string job_line(const JobFacts& job) {
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  write_job(w, job);
  return out;
}

}  // namespace runbot
