// Per-job databases against a real PostgreSQL (tests/support/postgres.h), and the runner's
// database step end to end through the real binary (`job-run`), for both kinds.
#include "support/postgres.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "exec/process.h"
#include "job/job_file.h"
#include "jobdb/jobdb.h"
#include "state/db.h"
#include "support/support.h"
#include "tick/gc.h"
#include "util/clock.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::PostgresServer;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    pg_ = PostgresServer::shared(&why);
    if (!pg_) GTEST_SKIP() << "PostgreSQL is not available: " << why;
    pg_->drop_all_databases();  // tests share the server when run in one process
    paths_.root = tmp_.path();
    fs::create_directories(paths_.jobs());
  }

  std::unique_ptr<JobDatabase> database(const DatabaseConfig& config) {
    auto db = make_job_database(config, paths_);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  // A job folder whose job.json says which server its database is on.
  void job_folder(int64_t id, const DatabaseConfig& config) {
    JobSpec s;
    s.id = id;
    s.group = "trunk";
    s.database = config;
    fs::create_directories(paths_.job(id));
    ASSERT_TRUE(write_job_spec(paths_.job(id), s));
  }

  std::vector<std::string> job_databases() {
    std::vector<std::string> out;
    for (const auto& n : pg_->databases())
      if (n.starts_with("runbot_")) out.push_back(n);
    return out;
  }

  PostgresServer* pg_ = nullptr;
  TempDir tmp_;
  Paths paths_;
};

TEST_F(PostgresTest, CreateGivesTheJobItsOwnDatabase) {
  auto db = database(pg_->config());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->create(12));
  EXPECT_TRUE(pg_->has_database("runbot_12"));
  auto env = db->env(12);
  EXPECT_EQ(env["RUNBOT_DB"], "runbot_12");
  EXPECT_EQ(env["RUNBOT_DB_URL"],
            fmt::format("postgresql://runbot_12@127.0.0.1:{}/runbot_12", pg_->port()));
  EXPECT_EQ(env["PGHOST"], "127.0.0.1");
  EXPECT_EQ(env["PGPORT"], std::to_string(pg_->port()));
  EXPECT_EQ(env["PGUSER"], "runbot_12");  // its own role, never the configured one
  EXPECT_EQ(env["PGPASSWORD"].size(), 48u);
  EXPECT_EQ(pg_->query("postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'runbot_12'"), "1");
  // A step's psql needs nothing but that environment.
  test::Cmd c = test::run({"psql", "-X", "-At", "-c", "select current_database()"}, {}, env);
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "runbot_12\n");
  c = test::run({"psql", "-X", "-At", "-c", "select 1", env["RUNBOT_DB_URL"]}, {}, {});
  EXPECT_EQ(c.out, "1\n") << c.err;

  pg_->query("runbot_12", "CREATE TABLE leftover(x int)");
  ASSERT_TRUE(db->create(12));  // afresh: a retried job never sees its last attempt's data
  EXPECT_EQ(pg_->query("runbot_12", "SELECT count(*) FROM pg_tables WHERE tablename='leftover'"),
            "0");
  ASSERT_TRUE(db->drop(12));
  EXPECT_FALSE(pg_->has_database("runbot_12"));
  EXPECT_EQ(pg_->query("postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'runbot_12'"), "0");
  EXPECT_TRUE(db->drop(12));  // absent is not an error
}

TEST_F(PostgresTest, CreateFromTemplate) {
  pg_->create_database("odoo \"tmpl\"", 3);  // quoted as an identifier, whatever its name
  DatabaseConfig config = pg_->config();
  config.template_db = "odoo \"tmpl\"";
  auto db = database(config);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->create(13));
  EXPECT_EQ(pg_->query("runbot_13", "SELECT sum(x) FROM t"), "6");

  config.template_db = "missing";
  auto broken = database(config);
  auto st = broken->create(14);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message, HasSubstr("template database \"missing\" does not exist"));
}

TEST_F(PostgresTest, RestoreSqlAndCustomDumps) {
  fs::path sql = tmp_ / "seed.sql";
  test::write_text(sql,
                   "CREATE TABLE seed(name text);\nINSERT INTO seed VALUES ('a'), ('b');\n"
                   "SELECT count(*) FROM seed;\n");
  DatabaseConfig config = pg_->config();
  config.dump = "seed.sql";  // relative to the state dir
  ASSERT_TRUE(database(config)->create(20));
  EXPECT_EQ(pg_->query("runbot_20", "SELECT string_agg(name, ',' ORDER BY name) FROM seed"), "a,b");

  pg_->create_database("source", 4);
  fs::path custom = tmp_ / "seed.dump";
  test::Cmd dump =
      test::run({"pg_dump", "-Fc", "-h", "127.0.0.1", "-p", std::to_string(pg_->port()), "-U",
                 pg_->user(), "-f", custom.string(), "source"});
  ASSERT_EQ(dump.status, 0) << dump.err;
  config.dump = custom.string();
  ASSERT_TRUE(database(config)->create(21));
  EXPECT_EQ(pg_->query("runbot_21", "SELECT sum(x) FROM t"), "10");

  test::write_text(sql, "CREATE TABLE ok(x int);\nTHIS IS NOT SQL;\n");
  config.dump = sql.string();
  auto st = database(config)->create(22);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message, StartsWith("restoring " + sql.string() + ": "));
  EXPECT_THAT(st.error().message, HasSubstr("syntax error"));

  config.dump = (tmp_ / "nope.sql").string();
  st = database(config)->create(23);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message, HasSubstr("nope.sql: no such file or directory"));
}

TEST_F(PostgresTest, DropTerminatesSessionsInUse) {
  auto db = database(pg_->config());
  ASSERT_TRUE(db->create(15));
  RunOptions opts;
  opts.env = db->env(15);
  auto holder =
      spawn_detached({"psql", "-X", "-c", "select pg_sleep(120)"}, tmp_ / "psql.log", opts);
  ASSERT_TRUE(holder) << holder.error().message;
  bool connected = false;
  for (int i = 0; i < 200 && !connected; ++i) {
    connected = pg_->query("postgres",
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "'runbot_15'") != "0";
    if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(connected) << test::read_text(tmp_ / "psql.log");
  auto st = db->drop(15);
  EXPECT_TRUE(st) << st.error().message;
  EXPECT_FALSE(pg_->has_database("runbot_15"));
  for (int i = 0; i < 200 && is_alive(*holder); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_FALSE(is_alive(*holder)) << "the session was not terminated";
  EXPECT_THAT(test::read_text(tmp_ / "psql.log"), HasSubstr("terminat"));
  kill_group(*holder, std::chrono::milliseconds(500));
}

TEST_F(PostgresTest, SweepNeverTouchesOtherNames) {
  for (const char* name : {"runbot_1", "runbot_2", "runbot_3", "runbot_007", "runbot_x",
                           "runbot_12_backup", "other", "RUNBOT_4", "runbot_"})
    pg_->create_database(name);
  auto db = database(pg_->config());
  auto names = db->list_runbot_databases();
  ASSERT_TRUE(names) << names.error().message;
  EXPECT_THAT(*names, ElementsAre("runbot_007", "runbot_1", "runbot_2", "runbot_3"));
  auto swept = db->sweep({2, 7});
  ASSERT_TRUE(swept) << swept.error().message;
  // runbot_007 is not job 7's database (that would be runbot_7): it goes.
  EXPECT_THAT(*swept, ElementsAre("runbot_007", "runbot_1", "runbot_3"));
  EXPECT_EQ(pg_->databases(), (std::vector<std::string>{"RUNBOT_4", "other", "postgres", "runbot_",
                                                        "runbot_12_backup", "runbot_2", "runbot_x",
                                                        "template0", "template1"}));
}

TEST_F(PostgresTest, CleanDropsEveryJobDatabase) {
  for (const char* name : {"runbot_5", "runbot_6", "runbot_x", "other"}) pg_->create_database(name);
  auto dropped = drop_all_job_databases(pg_->config(), paths_);
  ASSERT_TRUE(dropped) << dropped.error().message;
  EXPECT_THAT(*dropped, ElementsAre("runbot_5", "runbot_6"));
  EXPECT_TRUE(pg_->has_database("runbot_x"));
  EXPECT_TRUE(pg_->has_database("other"));
}

TEST_F(PostgresTest, KillOfAnUnbuiltJobDropsItsDatabase) {
  // job.json names the server even when runbot.toml has moved on (here: to sqlite).
  job_folder(30, pg_->config());
  ASSERT_TRUE(database(pg_->config())->create(30));
  ASSERT_TRUE(drop_job_database(database_config_of(paths_.job(30), DatabaseConfig{}), paths_, 30));
  EXPECT_FALSE(pg_->has_database("runbot_30"));
  // A pending job has no folder and no database: nothing to do, no error.
  EXPECT_TRUE(drop_job_database(pg_->config(), paths_, 31));
  // An unreachable server is an error naming the database.
  DatabaseConfig down = pg_->config();
  down.port = 1;
  auto st = drop_job_database(down, paths_, 31);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message, StartsWith("database runbot_31: "));
  EXPECT_THAT(st.error().message, HasSubstr("127.0.0.1"));
}

class PostgresGcTest : public PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped()) return;
    state_ = Db::open(paths_.db());
    config_.database = pg_->config();
    config_.runbot.keep_per_group = 1;
  }

  void add_job(int64_t id, JobState state, bool folder = true) {
    Job j;
    j.id = id;
    j.group = "trunk";
    j.fingerprint = "server=" + std::to_string(id);
    j.state = state;
    if (state == JobState::done) j.result = JobResult::ok;
    state_->insert_job(j);
    if (!folder) return;
    job_folder(id, config_.database);
    ASSERT_TRUE(database(config_.database)->create(id));
  }

  std::unique_ptr<Db> state_;
  Config config_;
};

TEST_F(PostgresGcTest, GcDropsCollectedJobsThenOrphans) {
  add_job(1, JobState::done);
  add_job(2, JobState::done);
  add_job(3, JobState::done);
  add_job(4, JobState::running);
  pg_->create_database("runbot_99");  // no job: an orphan (e.g. a crash before gc finished)
  pg_->create_database("runbot_x");
  pg_->create_database("other");
  std::vector<std::string> warnings;
  auto removed = collect_garbage(config_, paths_, *state_, &warnings);
  EXPECT_THAT(removed, ElementsAre(1, 2, 3));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_THAT(job_databases(), ElementsAre("runbot_4", "runbot_x"));
  EXPECT_TRUE(pg_->has_database("other"));
  EXPECT_FALSE(fs::exists(paths_.job(1)));
  EXPECT_TRUE(fs::exists(paths_.job(4)));
}

TEST_F(PostgresGcTest, SweepEveryIntervalKeepsJobsWithFolders) {
  add_job(1, JobState::done);
  add_job(2, JobState::pending, false);
  pg_->create_database("runbot_2");  // in the DB but without a folder: not anyone's any more
  pg_->create_database("runbot_50");
  auto swept = sweep_orphan_databases_every(config_, paths_, *state_, 1000, 600);
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_THAT(*swept, ElementsAre("runbot_2", "runbot_50"));
  pg_->create_database("runbot_51");
  swept = sweep_orphan_databases_every(config_, paths_, *state_, 1300, 600);
  ASSERT_TRUE(swept);
  EXPECT_TRUE(swept->empty());  // not due yet
  swept = sweep_orphan_databases_every(config_, paths_, *state_, 1600, 600);
  ASSERT_TRUE(swept);
  EXPECT_THAT(*swept, ElementsAre("runbot_51"));
  EXPECT_THAT(job_databases(), ElementsAre("runbot_1"));
  // sqlite: never asks a server.
  Config sqlite = config_;
  sqlite.database = DatabaseConfig{};
  swept = sweep_orphan_databases(sqlite, paths_, *state_);
  ASSERT_TRUE(swept);
  EXPECT_TRUE(swept->empty());
}

// A state dir with one git project and the real binary's `job-run`.
class DatabaseRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.root = tmp_ / "state";
    fs::create_directories(paths_.jobs());
    rev_ = repo_.commit("trunk", "app.py", "print('hi')\n");
    test::sh("git clone -q --bare '" + repo_.path().string() + "' '" +
             paths_.mirror("app").string() + "'");
  }

  // Runs job `id` with these steps and database settings; returns its result marker.
  ResultMarker run_job(int64_t id, std::vector<StepConfig> steps, const DatabaseConfig& db) {
    JobSpec s;
    s.id = id;
    s.group = "trunk";
    s.sources = {
        {"app", "git", paths_.mirror("app").string(), repo_.path().string(), rev_, "trunk", false}};
    s.build.steps = std::move(steps);
    s.build.run = "";
    s.build_timeout = 60;
    s.db_name = job_database_name(id);
    s.database = db;
    fs::create_directories(paths_.job(id));
    EXPECT_TRUE(write_job_spec(paths_.job(id), s));
    test::Cmd c = test::runbot(paths_.root, {"job-run", std::to_string(id)});
    EXPECT_EQ(c.status, 0) << c.err;
    auto r = read_result(paths_.job(id));
    EXPECT_TRUE(r && r->has_value()) << test::read_text(paths_.job(id) / marker::kRunnerLog);
    return r && r->has_value() ? **r : ResultMarker{};
  }

  std::string log(int64_t id, const std::string& step) {
    return test::read_text(paths_.job(id) / "logs" / (step + ".log"));
  }

  TempDir tmp_;
  Paths paths_;
  test::GitRepo repo_{tmp_ / "app"};
  std::string rev_;
};

TEST_F(DatabaseRunnerTest, SqliteByDefault) {
  ResultMarker r = run_job(3,
                           {{"db",
                             "echo \"db=$RUNBOT_DB\"; echo \"url=$RUNBOT_DB_URL\"; "
                             "test -d \"$(dirname \"$RUNBOT_DB\")\" && "
                             "python3 -c \"import sqlite3,os; "
                             "sqlite3.connect(os.environ['RUNBOT_DB']).execute("
                             "'create table t(x)')\"",
                             0}},
                           DatabaseConfig{});
  EXPECT_EQ(r.result, JobResult::ok) << r.note << log(3, "db");
  fs::path file = fs::absolute(paths_.job(3)) / "db/runbot_3.sqlite";
  // The path the step sees: its job folder is staged for the build user when run as root.
  std::string seen = geteuid() == 0 ? "/run/openerp-runbot/job/db/runbot_3.sqlite" : file.string();
  EXPECT_THAT(log(3, "db"), HasSubstr("db=" + seen + "\n"));
  EXPECT_THAT(log(3, "db"), HasSubstr("url=sqlite:///" + seen + "\n"));
  EXPECT_TRUE(fs::is_regular_file(file));
}

TEST_F(DatabaseRunnerTest, PostgresStepUsesItsDatabase) {
  RUNBOT_REQUIRE_POSTGRES(pg);
  pg->drop_all_databases();
  ResultMarker r = run_job(
      41,
      {{"schema", "psql -X -v ON_ERROR_STOP=1 -d \"$RUNBOT_DB\" -c 'create table t(x int)'", 0},
       {"check", "psql -X -At -c 'select current_database(), count(*) from t'", 0}},
      pg->config());
  EXPECT_EQ(r.result, JobResult::ok) << r.note << log(41, "schema");
  EXPECT_THAT(log(41, "check"), HasSubstr("runbot_41|0"));
  // The live instance keeps it: only gc drops it.
  EXPECT_EQ(pg->query("runbot_41", "SELECT count(*) FROM pg_tables WHERE tablename = 't'"), "1");
}

TEST_F(DatabaseRunnerTest, PostgresFailureIsKoBeforeAnyStep) {
  RUNBOT_REQUIRE_POSTGRES(pg);
  DatabaseConfig down = pg->config();
  down.port = 1;  // nothing listens there
  ResultMarker r = run_job(42, {{"never", "touch never-ran", 0}}, down);
  EXPECT_EQ(r.result, JobResult::ko);
  EXPECT_THAT(r.note, StartsWith("database runbot_42: "));
  EXPECT_THAT(r.note, HasSubstr("failed"));
  EXPECT_FALSE(fs::exists(paths_.job(42) / "src/never-ran"));
}

}  // namespace
}  // namespace runbot
