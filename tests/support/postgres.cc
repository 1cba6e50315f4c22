#include "support/postgres.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "exec/process.h"

namespace runbot::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDirPrefix = "runbot-pg-";

fs::path temp_root() {
  const char* base = std::getenv("TMPDIR");
  return base && *base ? fs::path(base) : fs::path("/tmp");
}

bool has_server_tools(const fs::path& bin) {
  std::error_code ec;
  for (const char* tool : {"initdb", "pg_ctl", "postgres", "psql", "pg_restore", "pg_dump"})
    if (!fs::exists(bin / tool, ec)) return false;
  return true;
}

// Debian's newest /usr/lib/postgresql/<major>/bin.
fs::path debian_bin() {
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string v = e.path().filename().string();
    if (v.empty() || !std::all_of(v.begin(), v.end(), ::isdigit)) continue;
    if (has_server_tools(e.path() / "bin") && std::stoi(v) > best_version) {
      best_version = std::stoi(v);
      best = e.path() / "bin";
    }
  }
  return best;
}

// Debian's binaries, installing the package when they are missing and we may.
fs::path find_bin(std::string* why) {
  if (fs::path bin = debian_bin(); !bin.empty()) return bin;
  if (geteuid() == 0 && run({"sh", "-c", "command -v apt-get"}).status == 0) {
    std::map<std::string, std::string> env{{"DEBIAN_FRONTEND", "noninteractive"}};
    Cmd c = run({"apt-get", "install", "-y", "-qq", "postgresql"}, {}, env);
    if (c.status != 0) {
      (void)run({"apt-get", "update", "-qq"}, {}, env);
      c = run({"apt-get", "install", "-y", "-qq", "postgresql"}, {}, env);
    }
    if (fs::path bin = debian_bin(); !bin.empty()) return bin;
    *why = "apt-get install postgresql failed: " + c.err.substr(0, 300);
    return {};
  }
  // Not Debian's layout: initdb on PATH (it may be a symlink into the real bin dir).
  Cmd which = run({"sh", "-c", "command -v initdb"});
  if (which.status == 0) {
    std::string p = which.out.substr(0, which.out.find('\n'));
    std::error_code ec;
    fs::path bin = fs::canonical(p, ec).parent_path();
    if (!ec && has_server_tools(bin)) return bin;
  }
  *why = "no PostgreSQL server binaries (install Debian's postgresql package)";
  return {};
}

std::string user_name(uid_t uid) {
  const passwd* pw = getpwuid(uid);
  return pw && pw->pw_name ? pw->pw_name : "";
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

std::vector<std::string> as_user(const std::string& os_user, std::vector<std::string> argv) {
  if (os_user.empty()) return argv;
  argv.insert(argv.begin(), {"runuser", "-u", os_user, "--"});
  return argv;
}

std::string fmt_hex(unsigned char c) {
  const char* digits = "0123456789abcdef";
  return {digits[c >> 4], digits[c & 15]};
}

std::string quote_ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Servers of test processes that died without stopping them (owner file: "pid start_time").
void stop_stale_servers(const fs::path& bin, const std::string& os_user) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(temp_root(), ec)) {
    if (!e.path().filename().string().starts_with(kDirPrefix)) continue;
    std::ifstream in(e.path() / "owner");
    ProcessId owner;
    if (!(in >> owner.pid >> owner.start_time) || is_alive(owner)) continue;
    (void)run(as_user(os_user, {(bin / "pg_ctl").string(), "stop", "-s", "-m", "immediate", "-w",
                                "-D", (e.path() / "data").string()}),
              e.path());
    fs::remove_all(e.path(), ec);
  }
}

std::string random_password() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string out;
  for (int i = 0; i < 16; ++i) out += fmt_hex(static_cast<unsigned char>(in.get()));
  return "admin-" + out;
}

}  // namespace

PostgresServer* PostgresServer::shared(std::string* why) { return shared(why, false); }

PostgresServer* PostgresServer::shared_with_password(std::string* why) { return shared(why, true); }

PostgresServer* PostgresServer::shared(std::string* why, bool password) {
  static std::unique_ptr<PostgresServer> servers[2];
  static std::string failures[2];
  static bool tried[2] = {false, false};
  const int i = password ? 1 : 0;
  if (!tried[i]) {
    tried[i] = true;
    std::unique_ptr<PostgresServer> s(new PostgresServer);
    if (password) s->password_ = random_password();
    if (s->start(&failures[i])) servers[i] = std::move(s);
  }
  if (!servers[i] && why) *why = failures[i];
  return servers[i].get();
}

bool PostgresServer::start(std::string* why) {
  bin_ = find_bin(why);
  if (bin_.empty()) return false;
  // The client tools of the server's version first (psql, pg_restore, pg_dump).
  const char* path = std::getenv("PATH");
  setenv("PATH", (bin_.string() + ":" + (path ? path : "/usr/bin:/bin")).c_str(), 1);
  user_ = user_name(geteuid());
  if (geteuid() == 0) {
    os_user_ = getpwnam("postgres") ? "postgres" : "nobody";
    if (run({"sh", "-c", "command -v runuser"}).status != 0) {
      *why = "running as root and runuser is missing";
      return false;
    }
  }
  stop_stale_servers(bin_, os_user_);

  std::string tmpl = (temp_root() / (std::string(kDirPrefix) + "XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    *why = "mkdtemp failed";
    return false;
  }
  dir_ = buf.data();
  ProcessId self = self_process_id();
  write_text(dir_ / "owner", std::to_string(self.pid) + " " + std::to_string(self.start_time));
  if (!os_user_.empty()) {
    const passwd* pw = getpwnam(os_user_.c_str());
    if (!pw || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      *why = "cannot give " + dir_.string() + " to " + os_user_;
      return false;
    }
  }
  fs::path data = dir_ / "data";
  std::vector<std::string> initdb{(bin_ / "initdb").string(),
                                  "-A",
                                  "trust",
                                  "-U",
                                  user_,
                                  "-E",
                                  "UTF8",
                                  "--no-locale",
                                  "--no-sync",
                                  "-D",
                                  data.string()};
  if (!password_.empty()) {
    fs::path pwfile = dir_ / "pwfile";
    write_text(pwfile, password_ + "\n");
    if (!os_user_.empty()) {
      const passwd* pw = getpwnam(os_user_.c_str());
      if (!pw || chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        *why = "cannot give " + pwfile.string() + " to " + os_user_;
        return false;
      }
    }
    initdb[2] = "scram-sha-256";
    initdb.push_back("--pwfile=" + pwfile.string());
  }
  Cmd init = run(as_user(os_user_, initdb), dir_);
  std::error_code removed;
  fs::remove(dir_ / "pwfile", removed);  // nothing but the server keeps the password
  if (init.status != 0) {
    *why = "initdb failed: " + init.out + init.err;
    return false;
  }
  std::string log;
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
    port_ = free_loopback_port();
    std::ofstream conf(data / "postgresql.conf", std::ios::app);
    conf << "\n# runbot tests\nlisten_addresses = '127.0.0.1'\nport = " << port_
         << "\nunix_socket_directories = '" << dir_.string() << "'\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "shared_buffers = 32MB\nmax_connections = 40\n";
    conf.close();
    Cmd c = run(as_user(os_user_, {(bin_ / "pg_ctl").string(), "start", "-s", "-w", "-t", "30",
                                   "-D", data.string(), "-l", (dir_ / "server.log").string()}),
                dir_);
    running_ = c.status == 0;
    log = c.out + c.err + read_text(dir_ / "server.log");
  }
  if (!running_) {
    *why = "pg_ctl start failed: " + log;
    stop();
    return false;
  }
  return true;
}

void PostgresServer::stop() {
  if (running_) {
    (void)run(as_user(os_user_, {(bin_ / "pg_ctl").string(), "stop", "-s", "-m", "immediate", "-w",
                                 "-D", (dir_ / "data").string()}),
              dir_);
    running_ = false;
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

PostgresServer::~PostgresServer() { stop(); }

DatabaseConfig PostgresServer::config() const {
  DatabaseConfig c;
  c.kind = "postgresql";
  c.host = "127.0.0.1";
  c.port = port_;
  c.user = user_;
  c.password = password_;
  c.timeout = 60;
  return c;
}

Cmd PostgresServer::psql(const std::string& db, const std::string& sql) const {
  return psql_as(user_, password_, db, sql);
}

Cmd PostgresServer::psql_as(const std::string& user, const std::string& password,
                            const std::string& db, const std::string& sql) const {
  std::map<std::string, std::string> env;
  if (!password.empty()) env["PGPASSWORD"] = password;
  return run({"psql", "-X", "-At", "-w", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
              std::to_string(port_), "-U", user, "-d", db, "-c", sql},
             {}, env);
}

std::string PostgresServer::query(const std::string& db, const std::string& sql) const {
  Cmd c = psql(db, sql);
  EXPECT_EQ(c.status, 0) << "psql on " << db << ": " << sql << "\n" << c.err;
  if (!c.out.empty() && c.out.back() == '\n') c.out.pop_back();
  return c.out;
}

std::vector<std::string> PostgresServer::databases() const {
  std::vector<std::string> names;
  std::istringstream in(query("postgres", "SELECT datname FROM pg_database ORDER BY datname"));
  for (std::string line; std::getline(in, line);) names.push_back(line);
  std::sort(names.begin(), names.end());
  return names;
}

bool PostgresServer::has_database(const std::string& name) const {
  auto all = databases();
  return std::find(all.begin(), all.end(), name) != all.end();
}

void PostgresServer::create_database(const std::string& name, int rows) const {
  query("postgres", "CREATE DATABASE " + quote_ident(name));
  if (rows < 0) return;
  query(name, "CREATE TABLE t(x int)");
  query(name, "INSERT INTO t SELECT generate_series(1, " + std::to_string(rows) + ")");
}

void PostgresServer::drop_all_databases() const {
  for (const auto& name : databases()) {
    if (name == "postgres" || name == "template0" || name == "template1") continue;
    query("postgres", "DROP DATABASE IF EXISTS " + quote_ident(name) + " WITH (FORCE)");
  }
  // The job roles made with the databases (runbot_<id>), and nothing else.
  std::string roles = query("postgres", "SELECT string_agg(rolname, ' ') FROM pg_roles WHERE rolname ~ '^runbot_[0-9]+$'");
  std::istringstream names(roles);
  for (std::string role; names >> role;) query("postgres", "DROP ROLE IF EXISTS " + quote_ident(role));
}

}  // namespace runbot::test
