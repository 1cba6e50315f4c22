// Build errors in runbot.db: the errors table the triggers keep (through deletions), and the
// classes and notes record_build_errors gives when builds end.
#include "tick/build_errors.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "job/error_extract.h"
#include "support/support.h"
#include "unit/state/db_test_util.h"

namespace runbot {
namespace {

using nlohmann::json;
using test::TempDir;

const ErrorRecord* find(const std::vector<ErrorRecord>& all, const std::string& fp) {
  for (const auto& e : all)
    if (e.fingerprint == fp) return &e;
  return nullptr;
}

TEST(ErrorsTable, TriggersKeepItRightThroughInsertsReclassificationAndDeletions) {
  TempDir dir;
  auto db = db_test::open_in(dir);
  for (int64_t id : {1, 2, 3, 4}) db->insert_job(db_test::sample_job(id, id == 3 ? "b" : "a"));
  db->insert_job_error(1, "a", "fp1", "new", "test", "ERROR one");
  db->insert_job_error(2, "a", "fp1", "known", "test", "ERROR one again");
  db->insert_job_error(3, "b", "fp1", "known", "test", "ERROR one");
  db->insert_job_error(3, "b", "fp2", "new", "lint", "ERROR two");
  db->insert_job_error(3, "b", "fp2", "new", "lint", "twice: ignored");
  auto all = db->errors();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].last_job, 3);  // last seen first
  const ErrorRecord* one = find(all, "fp1");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->sample, "ERROR one");
  EXPECT_EQ(one->jobs, 3);
  EXPECT_EQ(one->first_job, 1);
  EXPECT_EQ(one->last_job, 3);
  ASSERT_EQ(one->groups.size(), 2u);
  EXPECT_EQ(one->groups[0], (std::pair<std::string, int64_t>{"b", 3}));
  EXPECT_EQ(one->groups[1], (std::pair<std::string, int64_t>{"a", 2}));
  EXPECT_EQ(find(all, "fp2")->jobs, 1);

  db->make_job_errors_flaky(3);
  EXPECT_EQ(find(db->errors(), "fp1")->flaky, 1);
  std::string before = db->errors_signature();

  db->delete_job(1);  // first_job moves on; the group keeps its newest job
  one = nullptr;
  all = db->errors();
  EXPECT_EQ(find(all, "fp1")->first_job, 2);
  EXPECT_EQ(find(all, "fp1")->jobs, 2);
  EXPECT_NE(db->errors_signature(), before);
  db->delete_job(3);  // fp2 had only job 3; group b had fp1 only there
  all = db->errors();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].fingerprint, "fp1");
  EXPECT_EQ(all[0].flaky, 0);
  EXPECT_EQ(all[0].groups.size(), 1u);
  EXPECT_EQ(all[0].last_job, 2);
  db->delete_all_jobs();
  EXPECT_TRUE(db->errors().empty());
  EXPECT_EQ(db->error_count(), 0);
  EXPECT_FALSE(db->has_job_errors(2));
}

TEST(ErrorsTable, MigratesAVersionTwoDatabase) {
  TempDir dir;
  {
    auto db = db_test::open_in(dir);
    db->insert_job(db_test::sample_job(5));
    // Back to schema v2: what an older openerp-runbot left.
    ASSERT_EQ(sqlite3_exec(db->handle(),
                           "DROP TRIGGER jobs_deleted_errors; DROP TABLE job_errors; "
                           "DROP TABLE errors; DROP TABLE error_groups; "
                           "DROP INDEX jobs_by_fingerprint; DROP TABLE site_jobs; "
                           "DROP INDEX jobs_current; DROP INDEX jobs_unarchived; "
                           "DROP INDEX jobs_by_place; DROP INDEX jobs_current_by_group; ALTER "
                           "TABLE jobs DROP COLUMN archived; "
                           "ALTER TABLE jobs DROP COLUMN executor; "
                           "ALTER TABLE jobs DROP COLUMN executor_id; "
                           "ALTER TABLE jobs DROP COLUMN host; "
                           "DELETE FROM sequence WHERE name = 'archive'; PRAGMA user_version = 2",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto db = db_test::open_in(dir);
  EXPECT_EQ(db->schema_version(), Db::kSchemaVersion);
  ASSERT_TRUE(db->job(5));
  EXPECT_TRUE(db->errors().empty());
  db->insert_job_error(5, "trunk", "fp", "new", "test", "ERROR");
  EXPECT_EQ(db->errors().size(), 1u);
  db->delete_job(5);
  EXPECT_TRUE(db->errors().empty());
}

TEST(ErrorsTable, PageListsAtMostSomeGroupsButCountsThemAll) {
  TempDir dir;
  auto db = db_test::open_in(dir);
  for (int64_t id = 1; id <= 30; ++id) {
    db->insert_job(db_test::sample_job(id, "g" + std::to_string(id)));
    db->insert_job_error(id, "g" + std::to_string(id), "fp", "known", "test", "ERROR");
  }
  auto all = db->errors(0, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].groups.size(), 10u);
  EXPECT_EQ(all[0].group_count, 30);
  EXPECT_EQ(all[0].groups[0].second, 30);
}

TEST(ErrorNote, SaysWhatTheErrorsAre) {
  EXPECT_EQ(error_note({}), "");
  EXPECT_EQ(error_note({2, 0, 0, {}, {}}), "2 new errors");
  EXPECT_EQ(error_note({0, 1, 0, ErrorSighting{231, "trunk"}, {}}), "1 known error (trunk #231)");
  EXPECT_EQ(error_note({1, 3, 0, ErrorSighting{7, "6.0"}, {}}),
            "1 new error, 3 known errors (6.0 #7)");
  EXPECT_EQ(error_note({0, 0, 2, {}, int64_t{233}}), "flaky: passed on #233");
}

class RecordTest : public ::testing::Test {
 protected:
  TempDir dir;
  Paths paths{dir.path()};
  std::unique_ptr<Db> db = db_test::open_in(dir);

  // A finished job of `group` with revisions `fingerprint` whose step logged `log`.
  Job finished(int64_t id, const std::string& group, const std::string& fingerprint,
               JobResult result, const std::string& log) {
    Job j = db_test::sample_job(id, group);
    j.fingerprint = fingerprint;
    j.state = JobState::done;
    j.result = result;
    j.note = "test exited 1";
    db->insert_job(j);
    std::filesystem::create_directories(paths.job(id));
    test::write_text(paths.job(id) / "test.log", log);
    JobErrors errors(job_error_context(paths.job(id)));
    LogClassifier c("ERROR|Traceback", "", "");
    EXPECT_TRUE(errors.scan_step(c, "test", paths.job(id) / "test.log"));
    EXPECT_TRUE(errors.write(paths.job(id)));
    return j;
  }

  void record(Job& j, std::vector<int64_t>* changed = nullptr) {
    std::vector<int64_t> ignored;
    std::vector<std::string> warnings;
    record_build_errors(paths, *db, j, changed ? *changed : ignored, warnings);
    EXPECT_TRUE(warnings.empty()) << warnings[0];
    db->update_job(j);
  }
};

TEST_F(RecordTest, NewThenKnownThenFlakyWhenTheSameRevisionsPass) {
  db->upsert_group(GroupRecord{"trunk", "trunk", true, false, {}, 0, 0});
  Job base = finished(1, "trunk", "rev-base", JobResult::ko, "ERROR db 12 down\n");
  record(base);
  EXPECT_EQ(base.note, "1 new error; test exited 1");
  Job feature = finished(2, "trunk-x", "rev-x", JobResult::ko, "ERROR db 99 down\nERROR other\n");
  record(feature);
  EXPECT_EQ(feature.note, "1 new error, 1 known error (trunk #1); test exited 1");
  json details = json::parse(feature.details);
  ASSERT_EQ(details["errors"].size(), 2u);
  EXPECT_EQ(details["errors"][0]["class"], "known");
  EXPECT_EQ(details["errors"][1]["class"], "new");
  EXPECT_EQ(details["errors"][0]["line"], 1);
  EXPECT_FALSE(details["explained"].get<bool>());

  // Recording again (a tick that died before saving) changes nothing.
  Job again = *db->job(2);
  record(again);
  EXPECT_EQ(again.note, feature.note);
  EXPECT_EQ(db->errors().size(), 2u);
  EXPECT_EQ(db->errors()[0].jobs + db->errors()[1].jobs, 3);

  // The same revisions pass: job 2's errors were flaky, and job 2 changed.
  Job rerun = finished(3, "trunk-x", "rev-x", JobResult::ok, "all good\n");
  std::vector<int64_t> changed;
  record(rerun, &changed);
  EXPECT_EQ(changed, (std::vector<int64_t>{2}));
  Job two = *db->job(2);
  EXPECT_EQ(two.note, "flaky: passed on #3; test exited 1");
  details = json::parse(two.details);
  EXPECT_EQ(details["errors"][0]["class"], "flaky");
  EXPECT_EQ(details["errors"][1]["class"], "flaky");
  EXPECT_TRUE(details["explained"].get<bool>());
  EXPECT_EQ(db->errors_signature().empty(), false);

  // A later failure of those revisions is flaky at once.
  Job third = finished(4, "trunk-x", "rev-x", JobResult::ko, "ERROR other\n");
  record(third);
  EXPECT_EQ(third.note, "flaky: passed on #3; test exited 1");
}

TEST_F(RecordTest, UnreadableErrorsMarkerIsAWarningAndNoErrors) {
  Job j = finished(1, "trunk", "rev", JobResult::ko, "ERROR x\n");
  test::write_text(paths.job(1) / kErrorsMarker, "{\"version\": 1, \"errors\": 3}");
  std::vector<int64_t> changed;
  std::vector<std::string> warnings;
  record_build_errors(paths, *db, j, changed, warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(j.note, "test exited 1");
  EXPECT_TRUE(db->errors().empty());
}

}  // namespace
}  // namespace runbot
