// Per-job databases without a server: the SQLite kind, kinds and dsns that cannot work, the PG*
// environment jobs get.
#include "jobdb/jobdb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "jobdb/postgres.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
  // The job connects as its own role; the configured (admin) credentials never reach it.
  EXPECT_EQ(job["PGUSER"], "runbot_12");
  EXPECT_EQ(job.count("PGPASSWORD"), 0u);  // no database.secret: the role was never made
  EXPECT_EQ(job["PGPASSFILE"], "/dev/null");
  EXPECT_EQ(job["RUNBOT_DB_URL"].find("s3cret"), std::string::npos);
  EXPECT_EQ(job["RUNBOT_DB_URL"].find("odoo@"), std::string::npos);
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

}  // namespace
}  // namespace runbot
