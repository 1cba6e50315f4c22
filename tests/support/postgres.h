// A real, throwaway PostgreSQL server for the tests, from Debian's packages: initdb'd in a
// temp dir, listening on a free 127.0.0.1 port (trust auth, or passwords) and on a socket in
// that dir. As
// root it runs as an unprivileged user (postgres, else nobody), since initdb/postgres refuse
// root. One server per test process, started on first use and stopped at exit; a server
// left by a crashed test process is stopped by the next one.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "support/support.h"

namespace runbot::test {

class PostgresServer {
 public:
  // This process's server, started on first call; nullptr (with `why` set) only when
  // PostgreSQL cannot be installed or started here.
  static PostgresServer* shared(std::string* why);
  // A second server of this process where every connection (TCP and socket) needs a password
  // (scram-sha-256): the superuser's is password(). For tests of who can connect as whom.
  static PostgresServer* shared_with_password(std::string* why);

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  const std::string& user() const { return user_; }          // the superuser: the current user
  const std::string& password() const { return password_; }  // "" = trust
  const std::filesystem::path& socket_dir() const { return dir_; }
  // [database] kind = "postgresql" pointing at this server over TCP.
  DatabaseConfig config() const;
  // Runs SQL with psql (as the superuser) on `db`; stdout in .out ("-At" format).
  Cmd psql(const std::string& db, const std::string& sql) const;
  // Runs SQL as `user` with `password` (nothing: none given).
  Cmd psql_as(const std::string& user, const std::string& password, const std::string& db,
              const std::string& sql) const;
  // Like psql() but the test fails unless it succeeds; returns stdout without the last newline.
  std::string query(const std::string& db, const std::string& sql) const;
  // Every database name on the server, sorted.
  std::vector<std::string> databases() const;
  bool has_database(const std::string& name) const;
  // Creates a database with that exact name (quoted), optionally with one table t(x) = rows.
  void create_database(const std::string& name, int rows = -1) const;
  // Drops every database but the server's own (postgres, template0, template1).
  void drop_all_databases() const;

 private:
  PostgresServer() = default;
  static PostgresServer* shared(std::string* why, bool password);
  bool start(std::string* why);
  void stop();

  std::filesystem::path bin_;
  std::filesystem::path dir_;
  std::string os_user_;  // who runs initdb/postgres ("" = us)
  std::string user_;
  std::string password_;
  int port_ = 0;
  bool running_ = false;
};

// The shared server, or GTEST_SKIP() with the reason when PostgreSQL truly cannot run here.
#define RUNBOT_REQUIRE_POSTGRES(server)                                                           \
  std::string server##_why;                                                                       \
  ::runbot::test::PostgresServer* server = ::runbot::test::PostgresServer::shared(&server##_why); \
  if (!server) {                                                                                  \
    GTEST_SKIP() << "PostgreSQL is not available: " << server##_why;                              \
  }                                                                                               \
  static_assert(true)

}  // namespace runbot::test
