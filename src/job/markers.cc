#include "job/job_file.h"

#include <fmt/format.h>

#include "job/json_doc.h"
#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;
using namespace jobfile;

bool is_bad_marker(const Error& e) { return e.message.rfind(kBadMarker, 0) == 0; }

std::string bad_marker_note(const Error& e) {
  std::string_view m = e.message;
  auto colon = m.find(':');
  return std::string(m.substr(0, colon));
}

ProcessMarker marker_of(const Confined& c, Time started_at, int port) {
  ProcessMarker m;
  m.process = c.process;
  m.started_at = started_at;
  m.port = port;
  m.sandbox = c.sandbox;
  m.cgroups = c.cgroups;
  m.limits = c.limits;
  return m;
}

Confined confined_of(const ProcessMarker& m) {
  return Confined{m.process, m.sandbox, m.cgroups, m.limits};
}

Status write_process_marker(const fs::path& file, const ProcessMarker& m, Sync sync) {
  json doc = {{"version", kJobFileVersion},
              {"pid", m.process.pid},
              {"start_time", m.process.start_time},
              {"started_at", m.started_at},
              {"port", m.port}};
  if (m.sandbox.pid > 0) {
    doc["sandbox_pid"] = m.sandbox.pid;
    doc["sandbox_start_time"] = m.sandbox.start_time;
  }
  if (!m.cgroups.empty()) doc["cgroups"] = m.cgroups;
  if (!m.limits.empty()) doc["limits"] = m.limits;
  return save(file, doc, 0644, sync);
}

Result<std::optional<ProcessMarker>> read_process_marker(const fs::path& file) {
  if (missing(file)) return std::optional<ProcessMarker>{};
  auto doc = load(file);
  if (!doc) return doc.error();
  // A pid the runner can never have written (init, a group, everything) is a planted marker.
  for (const char* key : {"pid", "sandbox_pid"}) {
    auto v = doc->find(key);
    if (v != doc->end() && v->is_number() && !(v->is_number_unsigned() && v->get<uint64_t>() >= 2))
      return Error{fmt::format("{}{}: {} {} is not a process the runbot starts", kBadMarker,
                               file.filename().string(), key, v->dump())};
  }
  FieldReader r(file.string());
  ProcessMarker m;
  // pid 0 or negative would address a whole process group (or everything) in kill(), pid 1
  // is init: no process the runbot starts has either.
  constexpr int64_t kMaxPid = std::numeric_limits<pid_t>::max();
  m.process.pid = static_cast<pid_t>(r.integer(*doc, "", "pid", 2, kMaxPid));
  m.process.start_time = static_cast<uint64_t>(r.integer(*doc, "", "start_time", 0, kMaxInt64));
  m.started_at = r.integer(*doc, "", "started_at", 0, kMaxInt64);
  m.port = static_cast<int>(r.integer(*doc, "", "port", 0, 65535));
  if (doc->contains("sandbox_pid")) {
    m.sandbox.pid = static_cast<pid_t>(r.integer(*doc, "", "sandbox_pid", 2, kMaxPid));
    m.sandbox.start_time =
        static_cast<uint64_t>(r.integer(*doc, "", "sandbox_start_time", 0, kMaxInt64));
  }
  if (doc->contains("cgroups")) m.cgroups = r.strings(*doc, "", "cgroups");
  if (doc->contains("limits")) m.limits = r.str(*doc, "", "limits");
  if (!r.ok()) return r.error();
  return std::optional<ProcessMarker>{m};
}

Status write_steps(const fs::path& job_dir, const std::vector<StepRecord>& steps) {
  json arr = json::array();
  for (const auto& s : steps) {
    arr.push_back({{"name", s.name},
                   {"exit", s.exit},
                   {"timed_out", s.timed_out},
                   {"seconds", s.seconds},
                   {"errors", s.errors},
                   {"warnings", s.warnings},
                   {"started_at", s.started_at},
                   {"finished_at", s.finished_at},
                   {"log", s.log}});
  }
  return save(job_dir / marker::kSteps, json{{"version", kJobFileVersion}, {"steps", arr}});
}

Result<std::vector<StepRecord>> read_steps(const fs::path& job_dir) {
  fs::path file = job_dir / marker::kSteps;
  std::vector<StepRecord> out;
  if (missing(file)) return out;
  auto doc = load(file);
  if (!doc) return doc.error();
  FieldReader r(file.string());
  const json* arr = r.array(*doc, "", "steps");
  for (size_t i = 0; arr && i < arr->size() && r.ok(); ++i) {
    const json& s = (*arr)[i];
    std::string where = fmt::format("steps[{}]", i);
    if (!s.is_object()) {
      r.fail(where, "must be an object");
      break;
    }
    StepRecord rec;
    rec.name = r.str(s, where, "name");
    rec.exit = static_cast<int>(r.integer(s, where, "exit", std::numeric_limits<int>::min(),
                                          std::numeric_limits<int>::max()));
    rec.timed_out = r.boolean(s, where, "timed_out");
    rec.seconds = r.number(s, where, "seconds");
    rec.errors = r.int32(s, where, "errors");
    rec.warnings = r.int32(s, where, "warnings");
    rec.started_at = r.integer(s, where, "started_at", 0, kMaxInt64);
    rec.finished_at = r.integer(s, where, "finished_at", 0, kMaxInt64);
    rec.log = r.str(s, where, "log");
    out.push_back(std::move(rec));
  }
  if (!r.ok()) return r.error();
  return out;
}

Status write_result(const fs::path& job_dir, const ResultMarker& m) {
  json doc = {{"version", kJobFileVersion},
              {"result", std::string(to_string(m.result))},
              {"note", m.note},
              {"errors", m.errors},
              {"warnings", m.warnings},
              {"coverage", m.coverage ? json(*m.coverage) : json(nullptr)},
              {"artifacts", m.artifacts},
              {"started_at", m.started_at},
              {"finished_at", m.finished_at}};
  return save(job_dir / marker::kResult, doc);
}

Result<std::optional<ResultMarker>> read_result(const fs::path& job_dir) {
  fs::path file = job_dir / marker::kResult;
  if (missing(file)) return std::optional<ResultMarker>{};
  auto doc = load(file);
  if (!doc) return doc.error();
  const json& d = *doc;
  FieldReader r(file.string());
  ResultMarker m;
  std::string result = r.str(d, "", "result");
  if (r.ok()) {
    if (auto parsed = parse_job_result(result)) {
      m.result = *parsed;
    } else {
      r.fail("result", fmt::format("unknown result '{}'", result));
    }
  }
  m.note = r.str(d, "", "note");
  m.errors = r.int32(d, "", "errors");
  m.warnings = r.int32(d, "", "warnings");
  if (const json* cov = r.field(d, "", "coverage"); cov && !cov->is_null()) {
    if (cov->is_number()) {
      m.coverage = cov->get<double>();
    } else {
      r.fail("coverage", "must be a number or null");
    }
  }
  m.artifacts = r.strings(d, "", "artifacts");
  m.started_at = r.integer(d, "", "started_at", 0, kMaxInt64);
  m.finished_at = r.integer(d, "", "finished_at", 0, kMaxInt64);
  if (!r.ok()) return r.error();
  return std::optional<ResultMarker>{std::move(m)};
}

}  // namespace runbot
