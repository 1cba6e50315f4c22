// Db: the job id sequence and the jobs table.
// Opening, branches, remotes, groups, meta and transactions are in db_test.cc.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <vector>

#include "state/db.h"
#include "support/support.h"
#include "unit/state/db_test_util.h"

namespace runbot {
namespace {

using db_test::open_in;
using db_test::sample_job;
using test::TempDir;
using ::testing::HasSubstr;

void expect_same_job(const Job& a, const Job& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.group, b.group);
  ASSERT_EQ(a.revisions.size(), b.revisions.size());
  for (size_t i = 0; i < a.revisions.size(); ++i) {
    EXPECT_EQ(a.revisions[i].project, b.revisions[i].project);
    EXPECT_EQ(a.revisions[i].rev, b.revisions[i].rev);
    EXPECT_EQ(a.revisions[i].branch, b.revisions[i].branch);
    EXPECT_EQ(a.revisions[i].remote, b.revisions[i].remote);
    EXPECT_EQ(a.revisions[i].fallback, b.revisions[i].fallback);
  }
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.manual, b.manual);
  EXPECT_EQ(a.pinned, b.pinned);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.result, b.result);
  EXPECT_EQ(a.note, b.note);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.instance_started_at, b.instance_started_at);
  EXPECT_EQ(a.port, b.port);
}

std::vector<int64_t> ids(const std::vector<Job>& jobs) {
  std::vector<int64_t> out;
  for (auto& j : jobs) out.push_back(j.id);
  return out;
}

TEST(DbSequence, StartsAtOneAndAllocates) {
  TempDir dir;
  auto db = open_in(dir);
  EXPECT_EQ(db->next_job_id(), 1);
  EXPECT_EQ(db->allocate_job_id(), 1);
  EXPECT_EQ(db->allocate_job_id(), 2);
  EXPECT_EQ(db->next_job_id(), 3);
}

TEST(DbSequence, RaiseNeverLowers) {
  TempDir dir;
  auto db = open_in(dir);
  db->raise_next_job_id(100);
  EXPECT_EQ(db->next_job_id(), 100);
  db->raise_next_job_id(5);
  EXPECT_EQ(db->next_job_id(), 100);
  EXPECT_EQ(db->allocate_job_id(), 100);
  db->raise_next_job_id(100);
  EXPECT_EQ(db->next_job_id(), 101);
}

TEST(DbSequence, PersistsAcrossReopenAndDeleteAllJobs) {
  TempDir dir;
  {
    auto db = open_in(dir);
    db->raise_next_job_id(40);
    Db::Transaction t(*db);
    db->insert_job(sample_job(db->allocate_job_id()));
    db->insert_job(sample_job(db->allocate_job_id()));
    t.commit();
  }
  auto db = open_in(dir);
  EXPECT_EQ(db->next_job_id(), 42);
  db->delete_all_jobs();
  EXPECT_TRUE(db->jobs().empty());
  EXPECT_EQ(db->next_job_id(), 42);
  EXPECT_EQ(db->allocate_job_id(), 42);
}

TEST(DbJobs, RoundTripsEveryField) {
  TempDir dir;
  auto db = open_in(dir);
  Job full = sample_job(7);
  full.group = "grp <'\"$(x)>";
  full.revisions[0].branch = "-rf \"quoted\" ü";
  Job bare;
  bare.id = 8;
  bare.group = "6.0";
  db->insert_job(full);
  db->insert_job(bare);

  auto got = db->job(7);
  ASSERT_TRUE(got);
  expect_same_job(*got, full);
  got = db->job(8);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->result.has_value());
  expect_same_job(*got, bare);
  EXPECT_FALSE(db->job(9));

  // Survives a reopen.
  db.reset();
  db = open_in(dir);
  expect_same_job(*db->job(7), full);
}

TEST(DbJobs, UpdateWritesEveryFieldButId) {
  TempDir dir;
  auto db = open_in(dir);
  db->insert_job(sample_job(3));
  Job changed;
  changed.id = 3;
  changed.group = "other";
  changed.state = JobState::done;
  changed.result = JobResult::killed;
  changed.note = "killed";
  changed.finished_at = 99;
  db->update_job(changed);
  expect_same_job(*db->job(3), changed);
  changed.result.reset();
  db->update_job(changed);
  EXPECT_FALSE(db->job(3)->result.has_value());
}

TEST(DbJobs, ListsFilterAndDelete) {
  TempDir dir;
  auto db = open_in(dir);
  auto make = [&](int64_t id, const std::string& group, JobState state) {
    Job j = sample_job(id, group);
    j.state = state;
    db->insert_job(j);
  };
  make(5, "b", JobState::done);
  make(2, "a", JobState::pending);
  make(9, "a", JobState::running);
  make(4, "b", JobState::building);
  make(7, "a", JobState::done);

  EXPECT_EQ(ids(db->jobs()), (std::vector<int64_t>{2, 4, 5, 7, 9}));
  EXPECT_EQ(ids(db->jobs_of_group("a")), (std::vector<int64_t>{2, 7, 9}));
  EXPECT_TRUE(db->jobs_of_group("zzz").empty());
  EXPECT_EQ(ids(db->jobs_in_states({JobState::done})), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(ids(db->jobs_in_states({JobState::running, JobState::pending, JobState::building})),
            (std::vector<int64_t>{2, 4, 9}));
  EXPECT_TRUE(db->jobs_in_states({}).empty());

  db->delete_job(7);
  EXPECT_EQ(ids(db->jobs_of_group("a")), (std::vector<int64_t>{2, 9}));
  db->delete_all_jobs();
  EXPECT_TRUE(db->jobs().empty());
}

TEST(DbJobs, DuplicateIdIsDbError) {
  TempDir dir;
  auto db = open_in(dir);
  db->insert_job(sample_job(1));
  try {
    db->insert_job(sample_job(1));
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("recording a new job"));
  }
  // The cached statement is usable again after the failure.
  db->insert_job(sample_job(2));
  EXPECT_EQ(db->jobs().size(), 2u);
}

}  // namespace
}  // namespace runbot

namespace runbot {
namespace {

// Schema v4: a database of schema v3 whose gc collected jobs gets their places in the history
// in id order, and new collections continue the sequence, each job placed once.
TEST(DbHistory, MigrationPlacesCollectedJobsInIdOrderAndCollectionContinues) {
  test::TempDir dir;
  {
    auto db = db_test::open_in(dir);
    for (int64_t id = 1; id <= 6; ++id) db->insert_job(db_test::sample_job(id));
    // Back to v3, with jobs 4, 2 and 5 collected (in that order) by an older runbot.
    ASSERT_EQ(sqlite3_exec(db->handle(),
                           "DROP TABLE site_jobs; DROP INDEX jobs_current; "
                           "DROP INDEX jobs_unarchived; DROP INDEX jobs_by_place; DROP INDEX "
                           "jobs_current_by_group; "
                           "ALTER TABLE jobs DROP COLUMN archived; "
                           "ALTER TABLE jobs DROP COLUMN executor; "
                           "ALTER TABLE jobs DROP COLUMN executor_id; "
                           "ALTER TABLE jobs DROP COLUMN host; "
                           "DELETE FROM sequence WHERE name = 'archive'; "
                           "UPDATE jobs SET collected = 1 WHERE id IN (4, 2, 5); "
                           "PRAGMA user_version = 3",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto db = db_test::open_in(dir);
  EXPECT_EQ(db->schema_version(), Db::kSchemaVersion);
  EXPECT_EQ(db->history_size(), 3);
  std::vector<int64_t> placed;
  for (const JobRow& r : db->history_rows(1, 3)) placed.push_back(r.job.id * 10 + r.place);
  EXPECT_EQ(placed, (std::vector<int64_t>{21, 42, 53}));
  db->mark_collected(6);
  db->mark_collected(6);  // twice: placed once
  EXPECT_EQ(db->history_size(), 4);
  EXPECT_EQ(db->job_row(6)->place, 4);
  std::vector<int64_t> current;
  db->for_each_current_job([&](CurrentJob&& j) { current.push_back(j.id); });
  EXPECT_EQ(current, (std::vector<int64_t>{3, 1}));
}

}  // namespace
}  // namespace runbot

namespace runbot {
namespace {

// What a tick reads of the jobs follows the current ones, not the history: with 20,000 past
// jobs (their details make the table thousands of pages), the reads of a publish and of
// retention fetch a few dozen pages into a cold cache. A query that scans the table (as
// "WHERE changed > ? ORDER BY id" did) reads them all.
TEST(DbHistory, TheQueriesOfATickReadAFewPagesWhateverTheHistory) {
  test::TempDir dir;
  {
    auto db = db_test::open_in(dir);
    Db::Transaction t(*db);
    for (int64_t id = 1; id <= 20000; ++id) {
      Job j = db_test::sample_job(id, fmt::format("g{}", id % 100));
      j.state = JobState::done;
      j.pinned = false;
      j.details = std::string(900, 'd');
      db->insert_job(j);
      if (id <= 19500) db->mark_collected(id);
    }
    t.commit();
  }
  auto db = db_test::open_in(dir);  // a cold page cache
  auto misses = [&] {
    int current = 0, high = 0;
    EXPECT_EQ(sqlite3_db_status(db->handle(), SQLITE_DBSTATUS_CACHE_MISS, &current, &high, 1),
              SQLITE_OK);
    return current;
  };
  misses();
  int64_t change = db->change_count();
  EXPECT_TRUE(db->jobs_changed_since(change - 3).size() <= 3u);
  EXPECT_LT(misses(), 50) << "jobs_changed_since";
  size_t current = 0;
  db->for_each_current_job([&](CurrentJob&&) { ++current; }, false);
  EXPECT_EQ(current, 500u);
  EXPECT_LT(misses(), 50) << "for_each_current_job";
  EXPECT_EQ(db->jobs_to_collect(5).size(), 0u);  // 5 per group are current and kept
  EXPECT_LT(misses(), 50) << "jobs_to_collect";
  db->place_collected_jobs();
  EXPECT_EQ(db->history_size(), 19500);
  EXPECT_LT(misses(), 50) << "place_collected_jobs, history_size";
}

}  // namespace
}  // namespace runbot

namespace runbot {
namespace {

// Schema v6 (SPEC "Executors"): a job row keeps the executor that started it, its id there and
// its host; jobs of a v5 database ran locally, and the site's cached lines (without the
// "executor" field) are dropped.
TEST(DbExecutor, RowKeepsItsExecutorAndAV5DatabaseMigratesToLocal) {
  test::TempDir dir;
  {
    auto db = db_test::open_in(dir);
    Job slurm = db_test::sample_job(1);
    slurm.executor = "slurm";
    slurm.executor_id = "1234";
    slurm.host = "node1";
    db->insert_job(slurm);
    Job j = *db->job(1);
    EXPECT_EQ(j.executor, "slurm");
    EXPECT_EQ(j.executor_id, "1234");
    EXPECT_EQ(j.host, "node1");
    db->insert_job(db_test::sample_job(2));
    db->put_site_cache(2, SiteCache{1, "{}", "", ""});
    ASSERT_EQ(sqlite3_exec(db->handle(),
                           "ALTER TABLE jobs DROP COLUMN executor; "
                           "ALTER TABLE jobs DROP COLUMN executor_id; "
                           "ALTER TABLE jobs DROP COLUMN host; PRAGMA user_version = 5",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto db = db_test::open_in(dir);
  EXPECT_EQ(db->schema_version(), Db::kSchemaVersion);
  for (int64_t id : {1, 2}) {
    Job j = *db->job(id);
    EXPECT_EQ(j.executor, "local");
    EXPECT_EQ(j.executor_id, "");
    EXPECT_EQ(j.host, "");
  }
  int cached = -1;
  sqlite3_exec(
      db->handle(), "SELECT count(*) FROM site_jobs",
      [](void* out, int, char** v, char**) {
        *static_cast<int*>(out) = std::atoi(v[0]);
        return 0;
      },
      &cached, nullptr);
  EXPECT_EQ(cached, 0);
}

}  // namespace
}  // namespace runbot
