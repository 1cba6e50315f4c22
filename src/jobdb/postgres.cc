// PostgreSQL job databases through the client tools: psql for SQL (one -c per statement, so
// CREATE/DROP DATABASE run outside a transaction), pg_restore for pg_dump archives. The
// connection travels in PG* variables and a job role's password in a 0600 file, so no
// password ever shows on a command line.
#include "jobdb/postgres.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "exec/process.h"
#include "util/atomic_file.h"

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
                   std::string admin_db, Paths paths)
      : config_(std::move(config)),
        env_(std::move(env)),
        admin_db_(std::move(admin_db)),
        paths_(std::move(paths)) {}

  // The role first (its password written 0600 before the server knows it), then the database
  // it owns, closed to every other role; a dump is restored as the job's role, so it owns
  // what the dump creates.
  Status create(int64_t id) override {
    std::string name = job_database_name(id);
    if (auto st = drop_named(name); !st) return st;
    auto password = random_password();
    if (!password) return password.error();
    fs::path secret = secret_file(id);
    std::error_code made_dir;
    fs::create_directories(secret.parent_path(), made_dir);
    if (auto st = write_file_atomic(secret, *password + "\n", Sync::now, 0600); !st)
      return Error{fmt::format("cannot write {}: {}", secret.string(), st.error().message)};
    std::string role = quote_ident(name);
    std::string sql = "CREATE DATABASE " + quote_ident(name) + " OWNER " + role;
    if (!config_.template_db.empty()) sql += " TEMPLATE " + quote_ident(config_.template_db);
    // The password goes through a 0600 file, never a command line.
    fs::path script = paths_.job(id) / "database-role.sql";
    std::string create_role = "CREATE ROLE " + role +
                              " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT "
                              "PASSWORD " + quote_literal(*password) + ";\n";
    if (auto st = write_file_atomic(script, create_role, Sync::now, 0600); !st)
      return Error{fmt::format("cannot write {}: {}", script.string(), st.error().message)};
    auto made = run({"psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-f",
                     script.string()},
                    admin_db_);
    std::error_code ec;
    fs::remove(script, ec);
    if (!made) return made.error();
    if (auto r = psql(admin_db_, {sql, "REVOKE ALL ON DATABASE " + quote_ident(name) + " FROM PUBLIC",
                                  "GRANT CONNECT ON DATABASE " + quote_ident(name) + " TO CURRENT_USER"});
        !r)
      return r.error();
    // The public schema (and what a template holds) belongs to its owner, not to the
    // database's: the job's role is given every right on it (it cannot ALTER those objects).
    std::vector<std::string> grants = {"GRANT ALL ON SCHEMA public TO " + role};
    if (!config_.template_db.empty())
      for (const char* what : {"TABLES", "SEQUENCES", "FUNCTIONS"})
        grants.push_back(fmt::format("GRANT ALL ON ALL {} IN SCHEMA public TO {}", what, role));
    if (auto r = psql(name, grants); !r) return r.error();
    if (!config_.dump.empty()) return restore(id);
    return {};
  }

  // Databases and roles named runbot_<id> (a role without its database is what a crash
  // between the two leaves): dropping a name drops both.
  Result<std::vector<std::string>> list_runbot_databases() override {
    auto out = psql(admin_db_, {"SELECT datname FROM pg_database WHERE datname ~ "
                                "'^runbot_[0-9]+$' UNION SELECT rolname FROM pg_roles WHERE "
                                "rolname ~ '^runbot_[0-9]+$' ORDER BY 1"});
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
    std::map<std::string, std::string> out = job_env(id);
    out["PGDATABASE"] = name;
    out["RUNBOT_DB"] = name;
    out.erase("PGPASSFILE");
    out["RUNBOT_DB_URL"] = postgres_url(out, name);
    out["PGPASSFILE"] = "/dev/null";
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
    std::string drop_role = "DROP ROLE IF EXISTS " + quote_ident(name);
    for (int attempt = 1;; ++attempt) {
      auto r = psql(admin_db_, {terminate, drop, drop_role});
      if (r) return {};
      if (attempt == 3 || r.error().message.find("other users") == std::string::npos)
        return r.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }

 private:
  fs::path secret_file(int64_t id) const { return paths_.job(id) / "database.secret"; }

  static Result<std::string> random_password() {
    std::ifstream in("/dev/urandom", std::ios::binary);
    unsigned char bytes[24] = {};
    if (!in.read(reinterpret_cast<char*>(bytes), sizeof bytes))
      return Error{"cannot read /dev/urandom for the job role's password"};
    std::string hex;
    for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
    return hex;
  }

  // The server's settings without the configured role's credentials, plus the job's role.
  std::map<std::string, std::string> job_env(int64_t id) const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : env_)
      if (k != "PGUSER" && k != "PGPASSWORD" && k != "PGPASSFILE" && k != "PGSERVICE" &&
          k != "PGSERVICEFILE" && k != "PGSSLKEY" && k != "PGSSLCERT")
        out[k] = v;
    out["PGUSER"] = job_database_name(id);
    if (auto text = read_file(secret_file(id)); text) {
      std::string pw = trim(*text);
      if (!pw.empty()) out["PGPASSWORD"] = pw;
    }
    // Never a ~/.pgpass of the runner's user.
    out["PGPASSFILE"] = "/dev/null";
    return out;
  }

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
    return run(argv, options(db));
  }
  Result<std::string> run(const std::vector<std::string>& argv, const RunOptions& opts) {
    auto out = run_capture(argv, opts);
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

  Status restore(int64_t id) {
    const std::string name = job_database_name(id);
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
    if (auto r = run(argv, job_options(id)); !r)
      return Error{fmt::format("restoring {}: {}", dump.string(), r.error().message)};
    return {};
  }

  // The tools run as the job's role, on its database.
  RunOptions job_options(int64_t id) const {
    RunOptions opts = options(job_database_name(id));
    for (const auto& [k, v] : job_env(id)) opts.env[k] = v;
    return opts;
  }

  DatabaseConfig config_;
  std::map<std::string, std::string> env_;
  std::string admin_db_;
  Paths paths_;
};

}  // namespace

Result<std::unique_ptr<JobDatabase>> make_postgres_database(const DatabaseConfig& config,
                                                            const Paths& paths) {
  std::string admin_db;
  auto env = postgres_env(config, admin_db);
  if (!env) return env.error();
  return std::unique_ptr<JobDatabase>(
      new PostgresDatabase(config, std::move(*env), std::move(admin_db), paths));
}

}  // namespace runbot
