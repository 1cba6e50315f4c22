#include "job/job_file.h"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>

#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Reads typed fields out of a parsed document, remembering the first problem so a caller
// can read everything and check once. `file` names the document in messages.
class FieldReader {
 public:
  explicit FieldReader(std::string file) : file_(std::move(file)) {}

  bool ok() const { return error_.empty(); }
  Error error() const { return Error{error_}; }
  void fail(const std::string& where, const std::string& what) {
    if (ok()) error_ = fmt::format("{}: {}: {}", file_, where, what);
  }

  const json* field(const json& obj, const std::string& where, const char* key) {
    if (!ok()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) {
      fail(name(where, key), "missing");
      return nullptr;
    }
    return &*it;
  }
  static std::string name(const std::string& where, const char* key) {
    return where.empty() ? key : where + "." + key;
  }
  // The field when it exists and `is` holds for it; else records why and returns null.
  const json* typed(const json& obj, const std::string& where, const char* key,
                    bool (json::*is)() const noexcept, const char* expected) {
    const json* v = field(obj, where, key);
    if (v && !(v->*is)()) {
      fail(name(where, key), expected);
      return nullptr;
    }
    return v;
  }

  std::string str(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_string, "must be a string");
    return v ? v->get<std::string>() : std::string{};
  }
  int64_t integer(const json& obj, const std::string& where, const char* key, int64_t min,
                  int64_t max) {
    const json* v = typed(obj, where, key, &json::is_number_integer, "must be an integer");
    if (!v) return 0;
    // Non-negative numbers parse as unsigned: compare without converting a huge one.
    bool in_range = v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(max) &&
                                                  static_cast<int64_t>(v->get<uint64_t>()) >= min
                                            : v->get<int64_t>() >= min && v->get<int64_t>() <= max;
    if (!in_range) {
      fail(name(where, key), "is out of range");
      return 0;
    }
    return v->get<int64_t>();
  }
  int int32(const json& obj, const std::string& where, const char* key, int min = 0) {
    return static_cast<int>(integer(obj, where, key, min, std::numeric_limits<int>::max()));
  }
  bool boolean(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_boolean, "must be true or false");
    return v ? v->get<bool>() : false;
  }
  double number(const json& obj, const std::string& where, const char* key) {
    const json* v = typed(obj, where, key, &json::is_number, "must be a number");
    return v ? v->get<double>() : 0;
  }
  const json* array(const json& obj, const std::string& where, const char* key) {
    return typed(obj, where, key, &json::is_array, "must be an array");
  }
  const json* object(const json& obj, const std::string& where, const char* key) {
    return typed(obj, where, key, &json::is_object, "must be an object");
  }
  std::vector<std::string> strings(const json& obj, const std::string& where, const char* key) {
    std::vector<std::string> out;
    const json* arr = array(obj, where, key);
    if (!arr) return out;
    for (size_t i = 0; i < arr->size(); ++i) {
      if (!(*arr)[i].is_string()) {
        fail(fmt::format("{}[{}]", name(where, key), i), "must be a string");
        return out;
      }
      out.push_back((*arr)[i].get<std::string>());
    }
    return out;
  }

 private:
  std::string file_;
  std::string error_;
};

// Parses `file` as a JSON object with "version": 1. Exceptions stay inside this file.
Result<json> load(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return text.error();
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::exception& e) {
    return Error{
        fmt::format("{}: not valid JSON (truncated or corrupt): {}", file.string(), e.what())};
  }
  if (!doc.is_object()) return Error{fmt::format("{}: not a JSON object", file.string())};
  auto v = doc.find("version");
  if (v == doc.end()) return Error{fmt::format("{}: version missing", file.string())};
  if (!v->is_number_integer() || v->get<int64_t>() != kJobFileVersion) {
    return Error{
        fmt::format("{} has version {}, expected {}", file.string(), v->dump(), kJobFileVersion)};
  }
  return doc;
}

// Branch names are arbitrary bytes: invalid UTF-8 is replaced rather than refused, so a write
// never fails on data.
Status save(const fs::path& file, const json& doc) {
  return write_file_atomic(file, doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

// Only a file that is not there is "missing"; any other failure is reported by the read.
bool missing(const fs::path& file) {
  std::error_code ec;
  return !fs::exists(file, ec) && !ec;
}

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

}  // namespace

Status write_job_spec(const fs::path& job_dir, const JobSpec& spec) {
  json sources = json::array();
  for (const auto& s : spec.sources) {
    sources.push_back({{"project", s.project},
                       {"vcs", s.vcs},
                       {"mirror", s.mirror},
                       {"remote", s.remote},
                       {"rev", s.rev},
                       {"branch", s.branch},
                       {"fallback", s.fallback}});
  }
  json steps = json::array();
  for (const auto& st : spec.build.steps)
    steps.push_back({{"name", st.name}, {"run", st.run}, {"timeout", st.timeout}});
  json build = {{"steps", steps},
                {"run", spec.build.run},
                {"run_on", spec.build.run_on},
                {"error_pattern", spec.build.error_pattern},
                {"warning_pattern", spec.build.warning_pattern},
                {"coverage_pattern", spec.build.coverage_pattern},
                {"artifacts", spec.build.artifacts}};
  const DatabaseConfig& d = spec.database;
  json database = {{"kind", d.kind},
                   {"host", d.host},
                   {"port", d.port},
                   {"user", d.user},
                   {"password", d.password},
                   {"dsn", d.dsn},
                   {"template", d.template_db},
                   {"dump", d.dump},
                   {"admin_db", d.admin_db},
                   {"timeout", d.timeout}};
  json doc = {
      {"version", kJobFileVersion}, {"id", spec.id},   {"group", spec.group},
      {"sources", sources},         {"build", build},  {"build_timeout", spec.build_timeout},
      {"port", spec.port},          {"url", spec.url}, {"db_name", spec.db_name},
      {"database", database}};
  return save(job_dir / marker::kJob, doc);
}

Result<JobSpec> read_job_spec(const fs::path& job_dir) {
  fs::path file = job_dir / marker::kJob;
  auto doc = load(file);
  if (!doc) return doc.error();
  const json& d = *doc;
  FieldReader r(file.string());
  JobSpec spec;
  spec.id = r.integer(d, "", "id", 1, kMaxInt64);
  spec.group = r.str(d, "", "group");
  if (const json* sources = r.array(d, "", "sources")) {
    for (size_t i = 0; i < sources->size() && r.ok(); ++i) {
      const json& s = (*sources)[i];
      std::string where = fmt::format("sources[{}]", i);
      if (!s.is_object()) {
        r.fail(where, "must be an object");
        break;
      }
      JobSource src;
      src.project = r.str(s, where, "project");
      src.vcs = r.str(s, where, "vcs");
      src.mirror = r.str(s, where, "mirror");
      src.remote = r.str(s, where, "remote");
      src.rev = r.str(s, where, "rev");
      src.branch = r.str(s, where, "branch");
      src.fallback = r.boolean(s, where, "fallback");
      spec.sources.push_back(std::move(src));
    }
  }
  if (const json* b = r.object(d, "", "build")) {
    if (const json* steps = r.array(*b, "build", "steps")) {
      for (size_t i = 0; i < steps->size() && r.ok(); ++i) {
        const json& s = (*steps)[i];
        std::string where = fmt::format("build.steps[{}]", i);
        if (!s.is_object()) {
          r.fail(where, "must be an object");
          break;
        }
        StepConfig step;
        step.name = r.str(s, where, "name");
        step.run = r.str(s, where, "run");
        step.timeout = r.int32(s, where, "timeout");
        spec.build.steps.push_back(std::move(step));
      }
    }
    spec.build.run = r.str(*b, "build", "run");
    spec.build.run_on = r.strings(*b, "build", "run_on");
    spec.build.error_pattern = r.str(*b, "build", "error_pattern");
    spec.build.warning_pattern = r.str(*b, "build", "warning_pattern");
    spec.build.coverage_pattern = r.str(*b, "build", "coverage_pattern");
    spec.build.artifacts = r.strings(*b, "build", "artifacts");
  }
  spec.build_timeout = r.int32(d, "", "build_timeout");
  spec.port = static_cast<int>(r.integer(d, "", "port", 0, 65535));
  spec.url = r.str(d, "", "url");
  spec.db_name = r.str(d, "", "db_name");
  // Added after version 1 shipped: optional, and a job.json without it uses SQLite.
  if (d.contains("database")) {
    if (const json* db = r.object(d, "", "database")) {
      DatabaseConfig& out = spec.database;
      out.kind = r.str(*db, "database", "kind");
      out.host = r.str(*db, "database", "host");
      out.port = static_cast<int>(r.integer(*db, "database", "port", 1, 65535));
      out.user = r.str(*db, "database", "user");
      out.password = r.str(*db, "database", "password");
      out.dsn = r.str(*db, "database", "dsn");
      out.template_db = r.str(*db, "database", "template");
      out.dump = r.str(*db, "database", "dump");
      out.admin_db = r.str(*db, "database", "admin_db");
      out.timeout = r.int32(*db, "database", "timeout");
    }
  }
  if (!r.ok()) return r.error();
  return spec;
}

DatabaseConfig database_config_of(const fs::path& job_dir, const DatabaseConfig& fallback) {
  auto spec = read_job_spec(job_dir);
  return spec ? spec->database : fallback;
}

Status write_process_marker(const fs::path& file, const ProcessMarker& m) {
  json doc = {{"version", kJobFileVersion},
              {"pid", m.process.pid},
              {"start_time", m.process.start_time},
              {"started_at", m.started_at},
              {"port", m.port}};
  return save(file, doc);
}

Result<std::optional<ProcessMarker>> read_process_marker(const fs::path& file) {
  if (missing(file)) return std::optional<ProcessMarker>{};
  auto doc = load(file);
  if (!doc) return doc.error();
  FieldReader r(file.string());
  ProcessMarker m;
  // pid 0 or negative would address a whole process group (or everything) in kill().
  m.process.pid =
      static_cast<pid_t>(r.integer(*doc, "", "pid", 1, std::numeric_limits<pid_t>::max()));
  m.process.start_time = static_cast<uint64_t>(r.integer(*doc, "", "start_time", 0, kMaxInt64));
  m.started_at = r.integer(*doc, "", "started_at", 0, kMaxInt64);
  m.port = static_cast<int>(r.integer(*doc, "", "port", 0, 65535));
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
