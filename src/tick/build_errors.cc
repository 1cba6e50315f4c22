#include "tick/build_errors.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "job/error_extract.h"
#include "job/fingerprint.h"

namespace runbot {

namespace {

using nlohmann::json;

std::string errors_word(int n, std::string_view adjective) {
  return fmt::format("{} {} error{}", n, adjective, n == 1 ? "" : "s");
}

json parse_details(const std::string& text) {
  json d = text.empty() ? json::object() : json::parse(text, nullptr, false);
  return d.is_object() ? d : json::object();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string with_build_note(const std::string& summary, const json& details) {
  std::string build = details.value("build_note", std::string());
  if (summary.empty()) return build;
  return build.empty() ? summary : summary + "; " + build;
}

// A failed job with the same revisions as `passed` now has flaky errors.
void make_flaky(Db& db, int64_t id, int64_t passed, std::vector<int64_t>& changed) {
  db.make_job_errors_flaky(id);
  auto job = db.job(id);
  if (!job) return;
  json details = parse_details(job->details);
  if (auto it = details.find("errors"); it != details.end() && it->is_array())
    for (auto& e : *it) e["class"] = "flaky";
  details["explained"] = true;
  ErrorClasses c;
  c.passed_on = passed;
  job->note = with_build_note(error_note(c), details);
  job->details = dump(details);
  db.update_job(*job);
  changed.push_back(id);
}

}  // namespace

std::string error_note(const ErrorClasses& c) {
  if (c.passed_on) return fmt::format("flaky: passed on #{}", *c.passed_on);
  std::vector<std::string> parts;
  if (c.fresh > 0) parts.push_back(errors_word(c.fresh, "new"));
  if (c.known > 0) {
    std::string where =
        c.known_in ? fmt::format(" ({} #{})", c.known_in->group, c.known_in->job) : "";
    parts.push_back(errors_word(c.known, "known") + where);
  }
  if (c.flaky > 0) parts.push_back(errors_word(c.flaky, "flaky"));
  return fmt::format("{}", fmt::join(parts, ", "));
}

void record_build_errors(const Paths& paths, Db& db, Job& job, std::vector<int64_t>& changed,
                         std::vector<std::string>& warnings) {
  if (!job.result) return;
  if (*job.result == JobResult::ok || *job.result == JobResult::warn) {
    for (int64_t id : db.jobs_with_unflaky_errors(job.fingerprint, job.id))
      make_flaky(db, id, job.id, changed);
    return;
  }
  if (*job.result != JobResult::ko) return;
  json details = parse_details(job.details);
  if (details.contains("error_count")) return;  // recorded already
  auto errors = read_errors(paths.job(job.id));
  if (!errors) {
    warnings.push_back(fmt::format("job {}: {}", job.id, errors.error().message));
    return;
  }
  if (errors->empty()) return;

  Db::Transaction t(db);
  ErrorClasses c;
  c.passed_on = db.passing_twin(job.fingerprint, job.id);
  std::map<std::string, std::string> classes;  // fingerprint -> class
  json published = json::array(), texts = json::array();
  for (const BuildError& e : *errors) {
    auto [it, first] = classes.emplace(e.fingerprint, "");
    if (first) {
      if (c.passed_on) {
        it->second = "flaky";
        ++c.flaky;
      } else if (auto where = db.error_seen_elsewhere(e.fingerprint, job.id)) {
        it->second = "known";
        ++c.known;
        if (!c.known_in) c.known_in = where;
      } else {
        it->second = "new";
        ++c.fresh;
      }
      db.insert_job_error(job.id, job.group, e.fingerprint, it->second, e.step, e.text);
    }
    if (published.size() < kPublishedErrors) {
      published.push_back({{"class", it->second},
                           {"fingerprint", e.fingerprint},
                           {"line", e.line},
                           {"step", e.step},
                           {"text", error_summary(e.text)}});
      texts.push_back(e.text);
    }
  }
  t.commit();
  details["errors"] = std::move(published);
  details["error_texts"] = std::move(texts);
  details["error_count"] = errors->size();
  details["explained"] = c.fresh == 0;
  details["build_note"] = job.note;
  job.note = with_build_note(error_note(c), details);
  job.details = dump(details);
}

}  // namespace runbot
