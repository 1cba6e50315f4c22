// PostgreSQL job databases through the client tools: psql for SQL (one -c per statement, so
// CREATE/DROP DATABASE run outside a transaction), pg_restore for pg_dump archives. The
// connection travels in PG* variables, so no password ever shows on a command line.
#include "jobdb/postgres.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "exec/process.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// "name" with embedded quotes doubled: any template name is safe in SQL.
std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string quote_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// One line saying why a client tool failed: its first ERROR/FATAL/error line, else its
// first line of stderr, else its exit status.
std::string tool_error(const std::string& tool, const RunOutput& out, int timeout) {
  if (out.timed_out) return fmt::format("{} did not finish within {} s", tool, timeout);
  std::string first;
  size_t start = 0;
  while (start < out.err.size()) {
    size_t nl = out.err.find('\n', start);
    std::string line = trim(std::string_view(out.err).substr(start, nl - start));
    start = nl == std::string::npos ? out.err.size() : nl + 1;
    if (line.empty()) continue;
    if (first.empty()) first = line;
    if (line.find("ERROR:") != std::string::npos || line.find("FATAL:") != std::string::npos ||
        line.find("error:") != std::string::npos) {
      first = line;
      break;
    }
  }
  if (first.size() > 400) first = first.substr(0, 400) + "...";
  if (!first.empty()) return first;
  if (out.signal) return fmt::format("{} killed by signal {}", tool, out.signal);
  return fmt::format("{} exited {}", tool, out.exit_code);
}

// pg_dump archives (custom "PGDMP" or tar) go to pg_restore; anything else is SQL for psql.
bool is_archive(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char head[263] = {};
  in.read(head, sizeof head);
  std::string_view got(head, static_cast<size_t>(in.gcount()));
  return got.starts_with("PGDMP") || (got.size() >= 262 && got.substr(257, 5) == "ustar");
}

class PostgresDatabase : public JobDatabase {
 public:
  PostgresDatabase(DatabaseConfig config, std::map<std::string, std::string> env,
                   std::string admin_db)
      : config_(std::move(config)), env_(std::move(env)), admin_db_(std::move(admin_db)) {}

  Status create(int64_t id) override {
    std::string name = job_database_name(id);
    if (auto st = drop_named(name); !st) return st;
    std::string sql = "CREATE DATABASE " + quote_ident(name);
    if (!config_.template_db.empty()) sql += " TEMPLATE " + quote_ident(config_.template_db);
    if (auto r = psql(admin_db_, {sql}); !r) return r.error();
    if (!config_.dump.empty()) return restore(name);
    return {};
  }

  Result<std::vector<std::string>> list_runbot_databases() override {
    auto out = psql(admin_db_, {"SELECT datname FROM pg_database WHERE datname ~ "
                                "'^runbot_[0-9]+$' ORDER BY datname"});
    if (!out) return out.error();
    std::vector<std::string> names;
    size_t start = 0;
    while (start < out->size()) {
      size_t nl = out->find('\n', start);
      std::string line = out->substr(start, nl - start);
      start = nl == std::string::npos ? out->size() : nl + 1;
      if (is_job_database_name(line)) names.push_back(line);
    }
    return names;
  }

  std::map<std::string, std::string> env(int64_t id) const override {
    std::string name = job_database_name(id);
    std::map<std::string, std::string> out = env_;
    out["PGDATABASE"] = name;
    out["RUNBOT_DB"] = name;
    out["RUNBOT_DB_URL"] = postgres_url(env_, name);
    return out;
  }

 protected:
  // Terminates the database's sessions, then drops it. A client that reconnects in between
  // makes DROP fail with "being accessed by other users": terminate and try again.
  Status drop_named(const std::string& name) override {
    std::string terminate = fmt::format(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = {} AND "
        "pid <> pg_backend_pid()",
        quote_literal(name));
    std::string drop = "DROP DATABASE IF EXISTS " + quote_ident(name);
    for (int attempt = 1;; ++attempt) {
      auto r = psql(admin_db_, {terminate, drop});
      if (r) return {};
      if (attempt == 3 || r.error().message.find("other users") == std::string::npos)
        return r.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }

 private:
  RunOptions options(const std::string& db) const {
    RunOptions opts;
    opts.env = env_;
    opts.env["PGDATABASE"] = db;
    if (!opts.env.count("PGCONNECT_TIMEOUT")) opts.env["PGCONNECT_TIMEOUT"] = "10";
    if (!opts.env.count("PGAPPNAME")) opts.env["PGAPPNAME"] = "openerp-runbot";
    opts.timeout_seconds = config_.timeout;
    return opts;
  }

  // Runs one tool; its stdout, or one line saying why it failed.
  Result<std::string> run(const std::vector<std::string>& argv, const std::string& db) {
    auto out = run_capture(argv, options(db));
    if (!out) {
      return Error{fmt::format("{} (is the PostgreSQL client installed? Debian: postgresql-client)",
                               out.error().message)};
    }
    if (out->exit_code != 0) return Error{tool_error(argv[0], *out, config_.timeout)};
    return std::move(out->out);
  }

  Result<std::string> psql(const std::string& db, const std::vector<std::string>& commands) {
    std::vector<std::string> argv{"psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"};
    for (const auto& c : commands) {
      argv.push_back("-c");
      argv.push_back(c);
    }
    return run(argv, db);
  }

  Status restore(const std::string& name) {
    const fs::path& dump = config_.dump;
    std::error_code ec;
    if (!fs::exists(dump, ec))
      return Error{fmt::format("dump {}: no such file or directory", dump.string())};
    std::vector<std::string> argv;
    if (fs::is_directory(dump, ec) || is_archive(dump)) {
      argv = {"pg_restore", "--no-owner", "-w", "-d", name, dump.string()};
    } else {
      argv = {"psql", "-X",        "-q", "-w",         "-v", "ON_ERROR_STOP=1",
              "-o",   "/dev/null", "-f", dump.string()};
    }
    if (auto r = run(argv, name); !r)
      return Error{fmt::format("restoring {}: {}", dump.string(), r.error().message)};
    return {};
  }

  DatabaseConfig config_;
  std::map<std::string, std::string> env_;
  std::string admin_db_;
};

}  // namespace

Result<std::unique_ptr<JobDatabase>> make_postgres_database(const DatabaseConfig& config) {
  std::string admin_db;
  auto env = postgres_env(config, admin_db);
  if (!env) return env.error();
  return std::unique_ptr<JobDatabase>(
      new PostgresDatabase(config, std::move(*env), std::move(admin_db)));
}

}  // namespace runbot
