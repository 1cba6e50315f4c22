// Per-job databases without a server: names, the SQLite kind, dsn parsing, the PG*
// environment, [database] in runbot.toml, job.json's "database" and the Odoo example.
#include "jobdb/jobdb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobdb/postgres.h"
#include "job/job_file.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DatabaseNames, OnlyExactlyRunbotDigits) {
  EXPECT_EQ(job_database_name(12), "runbot_12");
  for (const char* ok : {"runbot_0", "runbot_12", "runbot_007", "runbot_99999999999999999999"})
    EXPECT_TRUE(is_job_database_name(ok)) << ok;
  for (const char* no : {"runbot_", "runbot_x", "runbot_12_backup", "Runbot_1", "runbot_-1",
                         " runbot_1", "runbot_1 ", "other", "runbot", "xrunbot_1", ""})
    EXPECT_FALSE(is_job_database_name(no)) << no;
}

TEST(DatabaseSqlite, FolderEnvListAndSweep) {
  TempDir tmp;
  Paths paths{tmp.path()};
  auto db = make_job_database(DatabaseConfig{}, paths);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE((*db)->create(5));
  ASSERT_TRUE((*db)->create(7));
  fs::create_directories(paths.jobs() / "x" / "db");  // not a job folder: never touched
  fs::create_directories(paths.jobs() / "8");         // a job without a database
  EXPECT_TRUE(fs::is_directory(paths.job(5) / "db"));
  auto env = (*db)->env(5);
  std::string file = (paths.job(5) / "db/runbot_5.sqlite").string();
  EXPECT_EQ(env["RUNBOT_DB"], file);
  EXPECT_TRUE(fs::path(env["RUNBOT_DB"]).is_absolute());
  EXPECT_EQ(env["RUNBOT_DB_URL"], "sqlite:///" + file);
  EXPECT_EQ(env.count("PGHOST"), 0u);
  auto names = (*db)->list_runbot_databases();
  ASSERT_TRUE(names);
  EXPECT_THAT(*names, ElementsAre("runbot_5", "runbot_7"));

  test::write_text(paths.job(5) / "db/runbot_5.sqlite", "data");
  ASSERT_TRUE((*db)->create(5));  // afresh
  EXPECT_FALSE(fs::exists(paths.job(5) / "db/runbot_5.sqlite"));

  auto swept = (*db)->sweep({7});
  ASSERT_TRUE(swept);
  EXPECT_THAT(*swept, ElementsAre("runbot_5"));
  EXPECT_FALSE(fs::exists(paths.job(5) / "db"));
  EXPECT_TRUE(fs::exists(paths.job(5)));  // only the database goes
  EXPECT_TRUE(fs::exists(paths.job(7) / "db"));
  EXPECT_TRUE(fs::exists(paths.jobs() / "x" / "db"));
  ASSERT_TRUE((*db)->drop(7));
  ASSERT_TRUE((*db)->drop(7));  // absent is fine
  EXPECT_FALSE(fs::exists(paths.job(7) / "db"));
}

TEST(DatabaseKinds, UnknownKindAndBadDsnAreErrors) {
  DatabaseConfig c;
  c.kind = "mysql";
  auto db = make_job_database(c, Paths{"/nonexistent"});
  ASSERT_FALSE(db);
  EXPECT_THAT(db.error().message, HasSubstr("unknown database kind \"mysql\""));
  c.kind = "postgresql";
  c.dsn = "host=x sslmod=require";
  db = make_job_database(c, Paths{"/nonexistent"});
  ASSERT_FALSE(db);
  EXPECT_THAT(db.error().message, HasSubstr("dsn: unknown or unsupported connection keyword "
                                            "'sslmod'"));
}

TEST(DatabaseConninfo, KeyValues) {
  auto r = parse_conninfo(
      "  host=db.example port = 5433 user='a b' password='it\\'s' "
      "sslmode=require dbname=admin application_name=x\\ y");
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, std::string> want{
      {"host", "db.example"},     {"port", "5433"},       {"user", "a b"},
      {"password", "it's"},       {"sslmode", "require"}, {"dbname", "admin"},
      {"application_name", "x y"}};
  EXPECT_EQ(*r, want);
  EXPECT_TRUE(parse_conninfo("")->empty());
}

TEST(DatabaseConninfo, Uri) {
  auto r = parse_conninfo("postgresql://r%40x:p%2Fw@db1:5433,db2/admin%20db?sslmode=require");
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, std::string> want{{"user", "r@x"},        {"password", "p/w"},
                                          {"host", "db1,db2"},    {"port", "5433,"},
                                          {"dbname", "admin db"}, {"sslmode", "require"}};
  EXPECT_EQ(*r, want);
  r = parse_conninfo("postgres://%2Fvar%2Frun%2Fpostgresql");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["host"], "/var/run/postgresql");
  r = parse_conninfo("postgresql://[::1]:5432/");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["host"], "::1");
  EXPECT_EQ((*r)["port"], "5432");
  EXPECT_EQ(r->count("dbname"), 0u);
}

TEST(DatabaseConninfo, Errors) {
  auto error = [](std::string_view dsn) {
    auto r = parse_conninfo(dsn);
    EXPECT_FALSE(r) << dsn;
    return r ? std::string{} : r.error().message;
  };
  EXPECT_THAT(error("host"), HasSubstr("missing \"=\" after 'host'"));
  EXPECT_THAT(error("user='abc"), HasSubstr("unterminated quoted value for 'user'"));
  EXPECT_THAT(error("keepalives=1"), HasSubstr("unsupported connection keyword 'keepalives'"));
  EXPECT_THAT(error("postgresql://h/db?nope=1"), HasSubstr("keyword 'nope'"));
  EXPECT_THAT(error("postgresql://h/db?sslmode"), HasSubstr("has no value"));
  EXPECT_THAT(error("postgresql://u%zz@h/"), HasSubstr("bad percent-encoding in the user"));
  EXPECT_THAT(error("postgresql://[::1/"), HasSubstr("unterminated [IPv6"));
}

TEST(DatabasePostgresEnv, FromHostPortUserPassword) {
  DatabaseConfig c;
  c.kind = "postgresql";
  c.host = "/run/postgresql";
  c.port = 5433;
  c.user = "odoo";
  c.password = "s3cret";
  std::string admin;
  auto env = postgres_env(c, admin);
  ASSERT_TRUE(env);
  EXPECT_EQ(admin, "postgres");
  std::map<std::string, std::string> want{{"PGHOST", "/run/postgresql"},
                                          {"PGPORT", "5433"},
                                          {"PGUSER", "odoo"},
                                          {"PGPASSWORD", "s3cret"}};
  EXPECT_EQ(*env, want);
  EXPECT_EQ(postgres_url(*env, "runbot_12"),
            "postgresql://odoo@%2Frun%2Fpostgresql:5433/runbot_12");

  auto db = make_job_database(c, Paths{"/srv/runbot"});
  ASSERT_TRUE(db);
  auto job = (*db)->env(12);
  EXPECT_EQ(job["RUNBOT_DB"], "runbot_12");
  EXPECT_EQ(job["PGDATABASE"], "runbot_12");
  EXPECT_EQ(job["PGPASSWORD"], "s3cret");
  EXPECT_EQ(job["RUNBOT_DB_URL"].find("s3cret"), std::string::npos);
}

TEST(DatabasePostgresEnv, FromDsnAndDefaults) {
  DatabaseConfig c;
  c.kind = "postgresql";
  c.dsn = "postgresql://runbot:pw@db.example:6432/maint?sslmode=require&connect_timeout=5";
  std::string admin;
  auto env = postgres_env(c, admin);
  ASSERT_TRUE(env);
  EXPECT_EQ(admin, "maint");
  EXPECT_EQ((*env)["PGHOST"], "db.example");
  EXPECT_EQ((*env)["PGPORT"], "6432");
  EXPECT_EQ((*env)["PGUSER"], "runbot");
  EXPECT_EQ((*env)["PGPASSWORD"], "pw");
  EXPECT_EQ((*env)["PGSSLMODE"], "require");
  EXPECT_EQ(postgres_url(*env, "runbot_3"),
            "postgresql://runbot@db.example:6432/runbot_3?sslmode=require&connect_timeout=5");

  DatabaseConfig d;  // defaults: 127.0.0.1:5432 as the current user
  d.kind = "postgresql";
  env = postgres_env(d, admin);
  ASSERT_TRUE(env);
  EXPECT_EQ(admin, "postgres");
  EXPECT_EQ((*env)["PGHOST"], "127.0.0.1");
  EXPECT_EQ((*env)["PGPORT"], "5432");
  EXPECT_FALSE((*env)["PGUSER"].empty());
  EXPECT_EQ(env->count("PGPASSWORD"), 0u);
}

Config parse_ok(std::string_view text) {
  auto r = parse_config(text);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Config{};
}

std::string errors_of(std::string_view text) {
  auto r = parse_config(text);
  EXPECT_FALSE(r) << text;
  return r ? std::string{} : r.error().message;
}

TEST(DatabaseConfig, DefaultsAndPostgresql) {
  EXPECT_EQ(parse_ok("").database.kind, "sqlite");
  EXPECT_EQ(parse_ok("[database]\n").database.kind, "sqlite");
  Config c = parse_ok(R"toml(
[database]
kind = "postgresql"
host = "/var/run/postgresql"
port = 5433
user = "odoo"
password = "pw"
template = "odoo-template"
dump = "seed.dump"
admin_db = "maintenance"
timeout = 120
)toml");
  const DatabaseConfig& d = c.database;
  EXPECT_EQ(d.kind, "postgresql");
  EXPECT_EQ(d.host, "/var/run/postgresql");
  EXPECT_EQ(d.port, 5433);
  EXPECT_EQ(d.user, "odoo");
  EXPECT_EQ(d.password, "pw");
  EXPECT_EQ(d.template_db, "odoo-template");
  EXPECT_EQ(d.dump, "seed.dump");
  EXPECT_EQ(d.admin_db, "maintenance");
  EXPECT_EQ(d.timeout, 120);
  Config e = parse_ok("[database]\nkind = \"postgresql\"\ndsn = \"host=db user=x dbname=m\"\n");
  EXPECT_EQ(e.database.dsn, "host=db user=x dbname=m");
}

TEST(DatabaseConfig, ErrorsWithPositions) {
  EXPECT_EQ(
      errors_of("[database]\nkind = \"mysql\"\n"),
      "runbot.toml:2:8: [database] kind must be \"sqlite\" or \"postgresql\" (got \"mysql\")");
  EXPECT_THAT(errors_of("[database]\nkind = \"postgresql\"\nhots = \"x\"\n"),
              HasSubstr("runbot.toml:3:1: unknown key 'hots' in [database] (expected one of: "
                        "kind, host, port"));
  EXPECT_EQ(errors_of("[database]\nhost = \"db\"\n"),
            "runbot.toml:2:8: [database] host is only used with kind = \"postgresql\"");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nport = 70000\n"),
            "runbot.toml:3:8: [database] port must be at most 65535 (got 70000)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nport = \"5432\"\n"),
            "runbot.toml:3:8: [database] port must be an integer, not a string");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"host=a\"\nuser = \"u\"\n"),
            "runbot.toml:4:8: [database] give either dsn or user, not both (put it in the dsn)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"host=a sslmod=x\"\n"),
            "runbot.toml:3:7: [database] dsn: unknown or unsupported connection keyword "
            "'sslmod' (supported: dbname, host, port, user, password, sslmode, and the others "
            "libpq reads from a PG* environment variable)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"dbname=a\"\nadmin_db = \"b\"\n"),
            "runbot.toml:4:12: [database] admin_db is given twice: here and as dbname in the dsn");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ntemplate = \"runbot_3\"\n"),
            "runbot.toml:3:12: [database] template \"runbot_3\" is a job database name "
            "(runbot_<id>): the runbot drops those");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nhost = \"\"\n"),
            "runbot.toml:3:8: [database] host must be a non-empty string without NUL bytes");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nhost = \"run/pg\"\n"),
            "runbot.toml:3:8: [database] host \"run/pg\" must be a host name or an absolute "
            "socket directory");
  EXPECT_EQ(errors_of("database = 3\n"),
            "runbot.toml:1:12: database must be a table ([database]), not an integer");
}

TEST(DatabaseConfig, OdooExampleLoads) {
  auto r = load_config(fs::path(RUNBOT_TEST_SHARE) / "examples/odoo.toml");
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  ASSERT_EQ(c.projects.size(), 2u);
  EXPECT_EQ(c.projects[0].name, "odoo");
  EXPECT_TRUE(c.projects[0].required);
  EXPECT_EQ(c.projects[0].remotes.front(), "https://github.com/odoo/odoo.git");
  EXPECT_EQ(c.projects[0].base_branches, (std::vector<std::string>{"17.0", "18.0", "master"}));
  EXPECT_EQ(c.projects[1].name, "enterprise");
  EXPECT_FALSE(c.projects[1].required);
  EXPECT_EQ(c.database.kind, "postgresql");
  EXPECT_FALSE(c.database.template_db.empty());
  EXPECT_EQ(c.build.error_pattern, "(ERROR|CRITICAL) |Traceback");
  EXPECT_EQ(c.build.warning_pattern, " WARNING ");
  EXPECT_EQ(c.build.coverage_pattern, "TOTAL.* ([0-9.]+)%");
  ASSERT_GE(c.build.steps.size(), 2u);
  bool installs = false, covers = false;
  for (const auto& s : c.build.steps) {
    installs |= s.run.find("-d $RUNBOT_DB") != std::string::npos &&
                s.run.find("--test-enable") != std::string::npos &&
                s.run.find("--stop-after-init") != std::string::npos;
    covers |= s.run.find("coverage report") != std::string::npos;
  }
  EXPECT_TRUE(installs);
  EXPECT_TRUE(covers);
  EXPECT_THAT(c.build.run, HasSubstr("--http-port=$RUNBOT_PORT"));
  EXPECT_THAT(c.build.run, HasSubstr("--db-filter=^$RUNBOT_DB$"));
  EXPECT_THAT(c.build.run, HasSubstr("-d $RUNBOT_DB"));
}

TEST(DatabaseJobFile, RoundTripAndOptional) {
  TempDir dir;
  JobSpec s;
  s.id = 4;
  s.group = "trunk";
  s.database.kind = "postgresql";
  s.database.dsn = "host=db";
  s.database.template_db = "tmpl";
  s.database.dump = "/srv/seed.sql";
  s.database.timeout = 77;
  ASSERT_TRUE(write_job_spec(dir.path(), s));
  auto r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->database.kind, "postgresql");
  EXPECT_EQ(r->database.dsn, "host=db");
  EXPECT_EQ(r->database.template_db, "tmpl");
  EXPECT_EQ(r->database.dump, "/srv/seed.sql");
  EXPECT_EQ(r->database.timeout, 77);

  // A version-1 job.json from before [database]: SQLite.
  auto doc = nlohmann::json::parse(test::read_text(dir / "job.json"));
  doc.erase("database");
  test::write_text(dir / "job.json", doc.dump());
  r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->database.kind, "sqlite");

  doc["database"] = "postgresql";
  test::write_text(dir / "job.json", doc.dump());
  r = read_job_spec(dir.path());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("database: must be an object"));
}

}  // namespace
}  // namespace runbot
