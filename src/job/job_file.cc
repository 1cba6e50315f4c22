#include "job/job_file.h"

#include <fmt/format.h>

#include <algorithm>

#include "job/json_doc.h"
#include "util/atomic_file.h"
#include "util/pattern.h"

namespace runbot {

namespace fs = std::filesystem;
using namespace jobfile;

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
                {"artifacts", spec.build.artifacts},
                {"env", spec.build.env}};
  const SandboxConfig& sb = spec.sandbox;
  json sandbox = {{"kind", sb.kind},      {"network", sb.network}, {"user", sb.user},
                  {"memory", sb.memory},  {"pids", sb.pids},       {"cpus", sb.cpus},
                  {"max_log", sb.max_log}};
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
      {"version", kJobFileVersion}, {"id", spec.id},     {"group", spec.group},
      {"sources", sources},         {"build", build},    {"build_timeout", spec.build_timeout},
      {"port", spec.port},          {"url", spec.url},   {"db_name", spec.db_name},
      {"database", database},       {"sandbox", sandbox}};
  if (!spec.boot_id.empty()) doc["boot_id"] = spec.boot_id;
  // It may hold the database password: readable by the runbot only.
  return save(job_dir / marker::kJob, doc, 0600);
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
    if (auto env = b->find("env"); env != b->end()) {
      if (!env->is_object()) {
        r.fail("build.env", "must be an object");
      } else {
        for (auto& [k, v] : env->items()) {
          if (!v.is_string()) {
            r.fail("build.env." + k, "must be a string");
            break;
          }
          spec.build.env[k] = v.get<std::string>();
        }
      }
    }
  }
  if (d.contains("sandbox")) {
    if (const json* sb = r.object(d, "", "sandbox")) {
      SandboxConfig& out = spec.sandbox;
      out.kind = r.str(*sb, "sandbox", "kind");
      out.network = r.str(*sb, "sandbox", "network");
      out.user = r.str(*sb, "sandbox", "user");
      out.memory = r.str(*sb, "sandbox", "memory");
      out.pids = r.int32(*sb, "sandbox", "pids");
      auto cpus = sb->find("cpus");
      out.cpus = cpus != sb->end() && cpus->is_number() ? cpus->get<double>() : 0;
      out.max_log = r.str(*sb, "sandbox", "max_log");
      auto size = [&](const std::string& text, uint64_t& bytes, const char* key) {
        auto parsed = text.empty() ? std::optional<uint64_t>(0) : parse_size(text);
        if (!parsed) r.fail(std::string("sandbox.") + key, "is not a size");
        bytes = parsed.value_or(0);
      };
      size(out.memory, out.memory_bytes, "memory");
      size(out.max_log, out.max_log_bytes, "max_log");
      if (out.kind != "bwrap" && out.kind != "none")
        r.fail("sandbox.kind", "must be bwrap or none");
    }
  }
  spec.build_timeout = r.int32(d, "", "build_timeout");
  spec.port = static_cast<int>(r.integer(d, "", "port", 0, 65535));
  spec.url = r.str(d, "", "url");
  spec.db_name = r.str(d, "", "db_name");
  // Added later, optional: a machine restart is told from a runner dying by it (tick/reconcile).
  if (d.contains("boot_id")) spec.boot_id = r.str(d, "", "boot_id");
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

namespace {

bool valid_name(const std::string& s, bool allow_upper_dot) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    if (c >= 'a' && c <= 'z') return true;
    if (c >= '0' && c <= '9') return true;
    if (c == '_' || c == '-') return true;
    return allow_upper_dot && ((c >= 'A' && c <= 'Z') || c == '.');
  });
}

}  // namespace

Status check_job_spec(const JobSpec& spec) {
  for (const auto& s : spec.sources) {
    if (!valid_name(s.project, false))
      return Error{fmt::format("job.json: bad project name '{}'", s.project)};
  }
  for (const auto& s : spec.build.steps) {
    if (!valid_name(s.name, true)) return Error{fmt::format("job.json: bad step name '{}'", s.name)};
  }
  for (const auto* p :
       {&spec.build.error_pattern, &spec.build.warning_pattern, &spec.build.coverage_pattern}) {
    if (auto re = compile_pattern(*p); !re)
      return Error{fmt::format("job.json: bad pattern '{}': {}", *p, re.error().message)};
  }
  return {};
}

}  // namespace runbot
