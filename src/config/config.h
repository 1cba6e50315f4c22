// runbot.toml -> Config. Validation is complete before anything changes: every problem is
// reported as "runbot.toml:LINE:COL: message".
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/sandbox.h"
#include "util/result.h"

namespace runbot {

struct StepConfig {
  std::string name;  // [A-Za-z0-9_.-]+, unique: used as the log file name
  std::string run;
  int timeout = 0;  // seconds; 0 = only the build timeout applies
};

struct ProjectConfig {
  std::string name;  // [a-z0-9_-]+
  std::string vcs = "git";
  std::vector<std::string> remotes;  // first = main
  std::vector<std::string> base_branches;
  bool required = true;
};

struct BuildConfig {
  std::vector<StepConfig> steps;
  std::string run;  // live instance command; empty = none
  std::vector<std::string> run_on{"ok", "warn"};
  std::string error_pattern = "ERROR|Traceback";
  std::string warning_pattern = "WARNING";
  std::string coverage_pattern;  // optional; first capture group is the coverage
  std::vector<std::string> artifacts;
  std::map<std::string, std::string> env;  // [build] env: given to every step and instance
};

struct RunbotConfig {
  int number = 16;
  int workers = 2;
  int64_t start_job_id = 1;
  std::string domain = "runbot.localhost";
  int nginx_port = 8080;
  std::string nginx = "private";  // private | include
  std::string reload_command = "nginx -s reload";
  int port_min = 8100;
  int port_max = 8899;
  int max_age_days = 30;
  int quiet_seconds = 0;
  int keep_per_group = 5;
  int build_timeout = 1800;
  int fetch_timeout = 300;  // seconds one remote's fetch may take (then a warning)
};

// [database]: each job's own database, named runbot_<id> (see database.h).
struct DatabaseConfig {
  std::string kind = "sqlite";  // sqlite | postgresql
  // postgresql only:
  std::string host = "127.0.0.1";  // a host name/address, or a socket directory (absolute path)
  int port = 5432;
  std::string user;         // empty = the user the runbot runs as
  std::string password;     // optional; given to the tools and the jobs as PGPASSWORD
  std::string dsn;          // optional libpq "key=value ..." or postgresql:// URI, instead of
                            // host/port/user/password (its dbname, if any, is the admin_db)
  std::string template_db;  // `template`: CREATE DATABASE runbot_<id> TEMPLATE "<this>"
  std::string dump;         // SQL or pg_dump archive restored into each new database
  std::string admin_db = "postgres";  // where CREATE/DROP DATABASE are run
  int timeout = 600;  // seconds for creating one database (template copy + dump restore)
};

// [executor]: where jobs run (SPEC "Executors"); the kinds are listed in exec/executor_kinds.h.
struct ExecutorConfig {
  std::string kind = "local";  // local | slurm
  std::string partition;       // slurm: sbatch --partition ("" = the cluster's default)
  std::string account;         // slurm: sbatch --account
  std::vector<std::string> sbatch_args;  // slurm: more sbatch arguments
};

struct Config {
  RunbotConfig runbot;
  std::vector<ProjectConfig> projects;  // build order
  BuildConfig build;
  DatabaseConfig database;
  SandboxConfig sandbox;
  ExecutorConfig executor;

  const ProjectConfig* project(const std::string& name) const;
};

// http://<id>.<domain>:<nginx_port>/ — where job `id`'s live instance is reached.
std::string instance_url(const RunbotConfig& runbot, int64_t id);

// Parses and validates TOML text. `source` names the file in messages ("runbot.toml").
// On error the message is "SOURCE:LINE:COL: what is wrong" (one per line if several).
Result<Config> parse_config(std::string_view text, std::string_view source = "runbot.toml");

// Reads and parses a file; errors name the file by its base name.
Result<Config> load_config(const std::filesystem::path& file);

// The commented default runbot.toml written by `init`.
std::string default_config_text();

}  // namespace runbot
