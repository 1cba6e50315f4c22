#include "site/job_facts.h"

#include <algorithm>

#include "util/clock.h"
#include "util/json_fields.h"

namespace runbot {

using nlohmann::json;

namespace {

// `s` as status.json shows it once parsed: invalid UTF-8 replaced by U+FFFD, so that a page
// says what status.json says (and is valid UTF-8).
std::string as_in_json(const std::string& s) {
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; })) return s;
  std::string dumped = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return json::parse(dumped).get<std::string>();
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

std::vector<JobFacts::Error> error_facts(const json& errors, const json& texts) {
  using namespace json_fields;
  std::vector<JobFacts::Error> out;
  if (!errors.is_array()) return out;
  for (size_t i = 0; i < errors.size(); ++i) {
    const json& e = errors[i];
    std::string trace = texts.is_array() && i < texts.size() && texts[i].is_string()
                            ? as_in_json(texts[i].get<std::string>())
                            : std::string();
    out.push_back({text(e, "fingerprint"), text(e, "class"), text(e, "step"), text(e, "text"),
                   std::move(trace), integer(e, "line").value_or(0)});
  }
  return out;
}

// A ko whose errors (those listed) are all known or flaky.
bool explained(const JobFacts& f) {
  return f.result == "ko" && !f.errors.empty() &&
         std::all_of(f.errors.begin(), f.errors.end(),
                     [](const JobFacts::Error& e) { return e.cls == "known" || e.cls == "flaky"; });
}

}  // namespace

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
  f.errors = error_facts(field(job, "errors"), json());
  f.error_count = static_cast<int64_t>(f.errors.size());
  f.explained = explained(f);
  f.port = integer(job, "port");
  f.url = text(job, "url");
  return f;
}

JobFacts row_facts(const Config& config, const Job& job,
                   const std::vector<const Revision*>& revisions, const json& details, bool full) {
  JobFacts f;
  f.id = job.id;
  f.state = to_string(job.state);
  f.result = job.result ? std::string(to_string(*job.result)) : std::string();
  f.created_at = iso8601(job.created_at);
  f.started_at = iso8601(job.started_at);
  f.finished_at = iso8601(job.finished_at);
  if (job.state == JobState::running && job.port) {
    f.port = job.port;
    f.url = instance_url(config.runbot, job.id);
  }
  if (!full) return f;
  f.group = as_in_json(job.group);
  f.manual = job.manual;
  f.pinned = job.pinned;
  f.reason = as_in_json(job.reason);
  f.note = as_in_json(job.note);
  if (job.created_at) f.created = job.created_at;
  if (job.started_at) f.started = job.started_at;
  if (job.finished_at) f.finished = job.finished_at;
  for (const Revision* r : revisions)
    f.revisions.push_back({as_in_json(r->project), as_in_json(r->branch), as_in_json(r->rev),
                           as_in_json(r->remote), r->fallback});
  if (auto steps = details.find("steps"); steps != details.end()) f.steps = step_facts(*steps);
  if (auto coverage = details.find("coverage"); coverage != details.end() && coverage->is_number())
    f.coverage = coverage->get<double>();
  if (auto errors = details.find("errors"); errors != details.end()) {
    auto texts = details.find("error_texts");
    f.errors = error_facts(*errors, texts != details.end() ? *texts : json());
    auto count = details.find("error_count");
    f.error_count = count != details.end() && count->is_number_integer()
                        ? count->get<int64_t>()
                        : static_cast<int64_t>(f.errors.size());
    auto all = details.find("explained");
    f.explained = all != details.end() && all->is_boolean() ? all->get<bool>() && f.result == "ko"
                                                            : explained(f);
  }
  return f;
}

}  // namespace runbot
