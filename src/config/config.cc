#include "config/config.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "config/checker.h"
#include "config/names.h"
#include "config/sections.h"
#include "model.h"

namespace runbot {
namespace {

using config_check::a_type;
using config_check::at;
using config_check::Checker;
using config_check::Item;

constexpr int64_t kIntMax = std::numeric_limits<int>::max();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxStartJobId = (int64_t{1} << 52);

// Non-empty and only [a-z0-9], plus [A-Z] if `upper`, plus the characters of `punct`.
bool is_word(std::string_view s, std::string_view punct, bool upper) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z') ||
           punct.find(c) != std::string_view::npos;
  });
}

bool parse_port_range(std::string_view s, int& lo, int& hi) {
  auto number = [](std::string_view d, int& out) {
    if (d.empty() || d.size() > 5 || d.find_first_not_of("0123456789") != d.npos) return false;
    out = std::stoi(std::string(d));
    return true;
  };
  const size_t dash = s.find('-');
  return dash != std::string_view::npos && number(s.substr(0, dash), lo) &&
         number(s.substr(dash + 1), hi) && 1 <= lo && lo <= hi && hi <= 65535;
}

void read_runbot(Checker& c, const toml::table& t, RunbotConfig& r) {
  const std::string w = "[runbot]";
  c.known_keys(t,
               {"number", "workers", "start_job_id", "domain", "nginx_port", "nginx",
                "reload_command", "port_range", "max_age_days", "quiet_seconds", "keep_per_group",
                "build_timeout", "fetch_timeout"},
               w);
  c.read(t, "number", w, 1, kIntMax, r.number);
  c.read(t, "workers", w, 1, kIntMax, r.workers);
  // Ids go into URLs, file names and status.json, which browsers read as doubles: at most
  // 2^53 - 1, with room for a long life of jobs after start_job_id.
  c.read(t, "start_job_id", w, 1, kMaxStartJobId, r.start_job_id);
  c.read(t, "nginx_port", w, 1, 65535, r.nginx_port);
  c.read(t, "max_age_days", w, 0, kIntMax, r.max_age_days);
  c.read(t, "quiet_seconds", w, 0, kIntMax, r.quiet_seconds);
  c.read(t, "keep_per_group", w, 1, kIntMax, r.keep_per_group);
  c.read(t, "build_timeout", w, 1, kIntMax, r.build_timeout);
  // A day at most: a fetch bound that long is no bound (the tick waits on the slowest remote).
  c.read(t, "fetch_timeout", w, 1, 86400, r.fetch_timeout);
  c.read(t, "reload_command", w, r.reload_command);
  if (const auto* v = c.get<std::string>(t, "nginx", w, "a string")) {
    if (v->get() == "private" || v->get() == "include") {
      r.nginx = v->get();
    } else {
      c.error(*v,
              fmt::format("{} nginx must be \"private\" or \"include\" (got \"{}\")", w, v->get()));
    }
  }
  if (const auto* v = c.get<std::string>(t, "domain", w, "a string")) {
    if (is_host_name(v->get())) {
      r.domain = v->get();
    } else {
      c.error(*v, fmt::format("{} domain \"{}\" must be a host name: dot-separated labels of "
                              "[A-Za-z0-9-], none empty or starting or ending with '-'",
                              w, v->get()));
    }
  }
  if (const auto* v = c.get<std::string>(t, "port_range", w, "a string like \"8100-8899\"")) {
    if (!parse_port_range(v->get(), r.port_min, r.port_max)) {
      c.error(*v, fmt::format("bad port range \"{}\" in {} port_range (expected \"MIN-MAX\" with "
                              "1 <= MIN <= MAX <= 65535)",
                              v->get(), w));
    } else if (r.port_min == r.port_max && r.port_min == r.nginx_port) {
      c.error(*v, fmt::format("{} port_range \"{}\" has no port for an instance: its only port "
                              "is nginx_port",
                              w, v->get()));
    }
  }
}

void read_project(Checker& c, const toml::table& t, size_t index, Config& config,
                  std::map<std::string, const toml::node*>& seen) {
  ProjectConfig p;
  std::string w = fmt::format("[[project]] #{}", index + 1);
  if (const auto* v = c.get<std::string>(t, "name", w, "a string")) {
    p.name = v->get();
    if (!is_word(p.name, "_-", false)) {
      c.error(*v, fmt::format("{} name \"{}\" must match [a-z0-9_-]+", w, p.name));
    } else {
      // Projects are told apart in the build's environment as RUNBOT_SRC_<suffix>.
      std::string key = project_env_suffix(p.name);
      if (auto [it, fresh] = seen.emplace(key, v); !fresh) {
        std::string first = it->second->as_string() ? it->second->as_string()->get() : key;
        if (first == p.name)
          c.error(*v, fmt::format("duplicate project '{}' (first defined at {})", p.name,
                                  at(*it->second)));
        else
          c.error(*v, fmt::format("project '{}' and project '{}' (defined at {}) would share "
                                  "RUNBOT_SRC_{} in the build's environment: rename one",
                                  p.name, first, at(*it->second), key));
      }
      w = fmt::format("project '{}'", p.name);
    }
  } else if (!t.contains("name")) {
    c.error(t, fmt::format("{} has no name (add name = \"...\")", w));
  }
  c.known_keys(t, {"name", "vcs", "remotes", "base_branches", "required"}, w);
  if (const auto* v = c.get<std::string>(t, "vcs", w, "a string")) {
    p.vcs = v->get();
    if (p.vcs != "git" && p.vcs != "hg" && p.vcs != "bzr") {
      c.error(*v, fmt::format("{} vcs must be \"git\", \"hg\" or \"bzr\" (got \"{}\")", w, p.vcs));
    }
  }
  auto remotes = c.strings(t, "remotes", w);
  if (remotes) {
    for (auto& r : *remotes) p.remotes.push_back(r.value);
  }
  if (p.remotes.empty() && (!t.contains("remotes") || remotes)) {
    const toml::node* n = t.get("remotes");
    c.error(n ? *n : t, fmt::format("{} has no remotes (add remotes = [\"URL or path\"])", w));
  }
  if (auto branches = c.strings(t, "base_branches", w)) {
    for (auto& b : *branches) p.base_branches.push_back(b.value);
  }
  c.read(t, "required", w, p.required);
  config.projects.push_back(std::move(p));
}

void read_steps(Checker& c, const toml::array& steps, BuildConfig& b) {
  std::map<std::string, const toml::node*> seen;
  for (size_t i = 0; i < steps.size(); ++i) {
    const toml::node& n = *steps.get(i);
    std::string w = fmt::format("[build] steps[{}]", i);
    const auto* t = n.as_table();
    if (!t) {
      c.error(n, fmt::format("{} must be a table like {{ name = \"test\", run = \"...\" }}, not {}",
                             w, a_type(n)));
      continue;
    }
    StepConfig s;
    if (const auto* v = c.get<std::string>(*t, "name", w, "a string")) {
      s.name = v->get();
      if (!is_word(s.name, "_.-", true) || s.name == "." || s.name == "..") {
        c.error(*v, fmt::format("{} name \"{}\" must match [A-Za-z0-9_.-]+ (it names the log file)",
                                w, s.name));
      } else if (auto [it, fresh] = seen.emplace(s.name, v); !fresh) {
        c.error(*v, fmt::format("duplicate step name '{}' (first defined at {})", s.name,
                                at(*it->second)));
      } else {
        w = fmt::format("[build] step '{}'", s.name);
      }
    } else if (!t->contains("name")) {
      c.error(*t, fmt::format("{} has no name (add name = \"...\")", w));
    }
    c.known_keys(*t, {"name", "run", "timeout"}, w);
    if (const auto* v = c.get<std::string>(*t, "run", w, "a string")) {
      s.run = v->get();
      if (s.run.empty()) c.error(*v, fmt::format("{} run is empty", w));
    } else if (!t->contains("run")) {
      c.error(*t, fmt::format("{} has no run command (add run = \"...\")", w));
    }
    c.read(*t, "timeout", w, 0, kIntMax, s.timeout);
    b.steps.push_back(std::move(s));
  }
}

void read_build(Checker& c, const toml::table& t, BuildConfig& b) {
  const std::string w = "[build]";
  c.known_keys(t,
               {"steps", "run", "run_on", "error_pattern", "warning_pattern", "coverage_pattern",
                "artifacts", "env"},
               w);
  read_build_env(c, t, b.env);
  if (const auto* steps = c.get<toml::array>(t, "steps", w, "an array of tables"))
    read_steps(c, *steps, b);
  c.read(t, "run", w, b.run);
  if (auto run_on = c.strings(t, "run_on", w)) {
    b.run_on.clear();
    for (const auto& r : *run_on) {
      if (r.value == "ok" || r.value == "warn" || r.value == "ko") {
        b.run_on.push_back(r.value);
      } else {
        c.error(*r.node, fmt::format("{} run_on: unknown result \"{}\" (expected \"ok\", \"warn\" "
                                     "or \"ko\")",
                                     w, r.value));
      }
    }
  }
  c.regex(t, "error_pattern", w, b.error_pattern);
  c.regex(t, "warning_pattern", w, b.warning_pattern);
  std::string coverage;
  if (c.regex(t, "coverage_pattern", w, coverage) == 0 && !coverage.empty()) {
    c.error(*t.get("coverage_pattern"),
            fmt::format("{} coverage_pattern \"{}\" needs a capture group for the percentage, "
                        "e.g. \"TOTAL.* ([0-9.]+)%\"",
                        w, coverage));
  }
  b.coverage_pattern = coverage;
  if (auto artifacts = c.strings(t, "artifacts", w)) {
    for (const auto& a : *artifacts) {
      const std::filesystem::path p(a.value);
      if (p.is_absolute()) {
        c.error(*a.node, fmt::format("{} artifact \"{}\" must be a relative path under the job's "
                                     "src/, not absolute",
                                     w, a.value));
      } else if (std::find(p.begin(), p.end(), "..") != p.end()) {
        c.error(*a.node,
                fmt::format("{} artifact \"{}\" must not contain a '..' component", w, a.value));
      } else {
        b.artifacts.push_back(a.value);
      }
    }
  }
}

void read_root(Checker& c, const toml::table& root, Config& config) {
  for (auto&& [key, node] : root) {
    if (key == "runbot" || key == "project" || key == "build" || key == "database" ||
        key == "sandbox" || key == "executor")
      continue;
    c.error(key.source().begin,
            fmt::format("unknown {} (expected [runbot], [[project]], [build], [database], "
                        "[sandbox] or [executor])",
                        node.is_table() ? fmt::format("table [{}]", key.str())
                                        : fmt::format("key '{}' at the top level", key.str())));
  }
  auto section = [&](std::string_view key) -> const toml::table* {
    const toml::node* n = root.get(key);
    if (n && !n->is_table()) {
      c.error(*n, fmt::format("{} must be a table ([{}]), not {}", key, key, a_type(*n)));
    }
    return n ? n->as_table() : nullptr;
  };
  if (const auto* t = section("runbot")) read_runbot(c, *t, config.runbot);
  if (const auto* t = section("build")) read_build(c, *t, config.build);
  if (const auto* t = section("database")) read_database(c, *t, config.database);
  if (const auto* t = section("sandbox")) read_sandbox(c, *t, config.sandbox);
  if (const auto* t = section("executor")) read_executor(c, *t, config.executor);
  if (const toml::node* n = root.get("project")) {
    std::map<std::string, const toml::node*> seen;
    if (const auto* a = n->as_array()) {
      for (size_t i = 0; i < a->size(); ++i) {
        if (const auto* t = a->get(i)->as_table()) {
          read_project(c, *t, i, config, seen);
        } else {
          c.error(*a->get(i),
                  fmt::format("project #{} must be a table, not {}", i + 1, a_type(*a->get(i))));
        }
      }
    } else {
      c.error(*n, fmt::format("project must be an array of tables (write [[project]], not "
                              "[project]), not {}",
                              a_type(*n)));
    }
  }
}

}  // namespace

const ProjectConfig* Config::project(const std::string& name) const {
  for (const auto& p : projects) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<Config> parse_config(std::string_view text, std::string_view source) {
  Checker checker(source);
  Config config;
  try {
    toml::table root = toml::parse(text, source);
    read_root(checker, root, config);
  } catch (const toml::parse_error& e) {
    checker.error(e.source().begin, fmt::format("invalid TOML: {}", e.description()));
  }
  if (!checker.ok()) return Error{checker.report()};
  return config;
}

Result<Config> load_config(const std::filesystem::path& file) {
  auto fail = [&](std::string_view why) {
    return Error{fmt::format("cannot read {}: {}", file.string(), why)};
  };
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) return fail("it is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(std::strerror(errno));
  auto config = parse_config(text.str(), file.filename().string());
  // A config holding the database's password is kept 0600 (SPEC "Untrusted code"): the
  // runbot tightens its own file rather than leave the admin's password world-readable.
  if (config && (!config->database.password.empty() ||
                 config->database.dsn.find("password") != std::string::npos)) {
    struct stat st {};
    if (stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && st.st_uid == geteuid())
      (void)chmod(file.c_str(), st.st_mode & 0700);
  }
  return config;
}

}  // namespace runbot
