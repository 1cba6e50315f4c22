#include "db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <map>

#include "support/support.h"

namespace runbot {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

std::unique_ptr<Db> open_in(const TempDir& dir) { return Db::open(dir / "runbot.db"); }

BranchHead head(const std::string& name, const std::string& rev, Time commit_time = 100) {
  return {"server", "/repos/server", name, rev, commit_time, 0};
}

std::map<std::string, BranchHead> branches_by_name(Db& db) {
  std::map<std::string, BranchHead> out;
  for (auto& b : db.branches()) out[b.branch] = b;
  return out;
}

Job sample_job(int64_t id, const std::string& group = "trunk") {
  Job j;
  j.id = id;
  j.group = group;
  j.revisions = {{"addons", "5d6e7f8", "trunk-fix-42", "/repos/addons", false},
                 {"server", "9a8b7c6", "trunk", "/repos/server", true}};
  j.fingerprint = "addons=5d6e7f8;server=9a8b7c6";
  j.reason = "new revisions";
  j.manual = true;
  j.pinned = true;
  j.state = JobState::running;
  j.result = JobResult::warn;
  j.note = "timeout in test";
  j.created_at = 1000;
  j.started_at = 1001;
  j.finished_at = 1002;
  j.instance_started_at = 1003;
  j.port = 2345;
  return j;
}

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

TEST(DbOpen, CreatesCurrentSchemaInWalMode) {
  TempDir dir;
  auto db = open_in(dir);
  EXPECT_EQ(db->schema_version(), Db::kSchemaVersion);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db->handle(), "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), "wal");
  sqlite3_finalize(s);
}

TEST(DbOpen, ReopenKeepsDataAndVersion) {
  TempDir dir;
  open_in(dir)->set_meta("k", "v");
  auto db = open_in(dir);
  EXPECT_EQ(db->schema_version(), Db::kSchemaVersion);
  EXPECT_EQ(db->meta("k"), "v");
}

TEST(DbOpen, NewerSchemaAsksForUpgrade) {
  TempDir dir;
  {
    auto db = open_in(dir);
    ASSERT_EQ(sqlite3_exec(db->handle(), "PRAGMA user_version = 99", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  try {
    open_in(dir);
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr("runbot.db has schema version 99"));
    EXPECT_THAT(e.what(), HasSubstr("upgrade openerp-runbot"));
  }
}

TEST(DbOpen, GarbageFileIsDbErrorNamingThePath) {
  TempDir dir;
  std::ofstream(dir / "runbot.db") << std::string(4096, 'x') << "this is not sqlite\n";
  try {
    open_in(dir);
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / "runbot.db").string()));
    EXPECT_THAT(e.what(), HasSubstr("not a database"));
  }
}

TEST(DbOpen, UnopenablePathIsDbError) {
  TempDir dir;
  EXPECT_THROW(Db::open(dir / "missing-dir" / "runbot.db"), DbError);
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

TEST(DbBranches, SeenAtKeptForUnchangedAndSetForNewOrMoved) {
  TempDir dir;
  auto db = open_in(dir);
  db->replace_branches("server", "/repos/server",
                       {head("trunk", "a1"), head("feature", "b1"), head("old", "c1")}, 10);
  auto first = branches_by_name(*db);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first["trunk"].seen_at, 10);
  EXPECT_EQ(first["trunk"].project, "server");
  EXPECT_EQ(first["trunk"].remote, "/repos/server");
  EXPECT_EQ(first["trunk"].commit_time, 100);

  db->replace_branches("server", "/repos/server",
                       {head("trunk", "a1", 150), head("feature", "b2", 200), head("new", "d1")},
                       20);
  auto second = branches_by_name(*db);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second["trunk"].seen_at, 10);    // unchanged
  EXPECT_EQ(second["feature"].seen_at, 20);  // moved
  EXPECT_EQ(second["feature"].rev, "b2");
  EXPECT_EQ(second["feature"].commit_time, 200);
  EXPECT_EQ(second["new"].seen_at, 20);  // new
  EXPECT_EQ(second.count("old"), 0u);    // missing -> deleted
}

TEST(DbBranches, OtherRemotesUntouched) {
  TempDir dir;
  auto db = open_in(dir);
  db->replace_branches("addons", "/repos/addons", {{"addons", "/repos/addons", "trunk", "x", 1, 0}},
                       5);
  db->replace_branches("server", "/repos/server", {head("trunk", "a1")}, 10);
  db->replace_branches("server", "/repos/server", {}, 20);
  auto all = db->branches();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].project, "addons");
  EXPECT_EQ(all[0].seen_at, 5);
}

TEST(DbBranches, HostileNamesRoundTripByteExact) {
  TempDir dir;
  auto db = open_in(dir);
  std::vector<std::string> names = {"$(touch pwned)",
                                    "x<img src=x onerror=alert(1)>",
                                    "-rf",
                                    "ünïcødé-分支-🚀",
                                    "it's \"quoted\"; DROP TABLE branches; --",
                                    std::string("nul\0byte", 8),
                                    "\xff\xfe-not-utf8",
                                    "back\\slash%s?"};
  std::vector<BranchHead> heads;
  for (size_t i = 0; i < names.size(); ++i)
    heads.push_back(head(names[i], "r" + std::to_string(i)));
  db->replace_branches("server", "/repos/server", heads, 7);
  auto got = branches_by_name(*db);
  ASSERT_EQ(got.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(got.count(names[i]), 1u) << names[i];
    EXPECT_EQ(got[names[i]].rev, "r" + std::to_string(i));
  }
  // Unchanged on a second pass: the stored names compare equal to the originals.
  db->replace_branches("server", "/repos/server", heads, 8);
  for (auto& b : db->branches()) EXPECT_EQ(b.seen_at, 7) << b.branch;
}

TEST(DbBranches, FiveThousandHeadsAreFast) {
  TempDir dir;
  auto db = open_in(dir);
  std::vector<BranchHead> heads;
  for (int i = 0; i < 5000; ++i) heads.push_back(head("branch-" + std::to_string(i), "r0"));
  auto start = std::chrono::steady_clock::now();
  db->replace_branches("server", "/repos/server", heads, 1);
  for (int i = 0; i < 5000; i += 2) heads[i].rev = "r1";
  heads.resize(4000);
  db->replace_branches("server", "/repos/server", heads, 2);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  auto got = branches_by_name(*db);
  ASSERT_EQ(got.size(), 4000u);
  EXPECT_EQ(got["branch-0"].seen_at, 2);
  EXPECT_EQ(got["branch-1"].seen_at, 1);
}

TEST(DbRemotes, StatusUpsertAndRetain) {
  TempDir dir;
  auto db = open_in(dir);
  db->set_remote_status({"server", "/repos/server", true, "", 10});
  db->set_remote_status({"addons", "/repos/addons", false, "fetch failed", 10});
  db->set_remote_status({"addons", "/repos/addons", false, "still failing", 20});
  db->replace_branches("server", "/repos/server", {head("trunk", "a1")}, 10);
  db->replace_branches("addons", "/repos/addons", {{"addons", "/repos/addons", "trunk", "x", 1, 0}},
                       10);
  db->replace_branches("web", "/repos/web", {{"web", "/repos/web", "trunk", "w", 1, 0}}, 10);

  auto statuses = db->remote_statuses();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].project, "addons");
  EXPECT_FALSE(statuses[0].ok);
  EXPECT_EQ(statuses[0].message, "still failing");
  EXPECT_EQ(statuses[0].checked_at, 20);

  db->retain_remotes({{"server", "/repos/server"}});
  statuses = db->remote_statuses();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].project, "server");
  auto all = db->branches();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].project, "server");
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

TEST(DbGroups, UpsertAndReadWithWarnings) {
  TempDir dir;
  auto db = open_in(dir);
  db->upsert_group({"trunk", "trunk", true, false, {}, 1, 2});
  db->upsert_group({"trunk-fix",
                    "trunk",
                    false,
                    false,
                    {"addons: no branch trunk-fix, using trunk", "quote \" and <b>"},
                    3,
                    4});
  db->upsert_group({"trunk-fix", "trunk", false, true, {"only one"}, 3, 9});
  auto groups = db->groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "trunk");
  EXPECT_TRUE(groups[0].is_base);
  EXPECT_TRUE(groups[0].warnings.empty());
  EXPECT_EQ(groups[1].name, "trunk-fix");
  EXPECT_EQ(groups[1].base, "trunk");
  EXPECT_TRUE(groups[1].deleted);
  EXPECT_EQ(groups[1].warnings, std::vector<std::string>{"only one"});
  EXPECT_EQ(groups[1].first_seen, 3);
  EXPECT_EQ(groups[1].last_activity, 9);

  db->upsert_group({"w", "", false, false, {"a", "b\nc"}, 0, 0});
  EXPECT_EQ(db->groups()[2].warnings, (std::vector<std::string>{"a", "b\nc"}));
}

TEST(DbMeta, SetGetOverwrite) {
  TempDir dir;
  auto db = open_in(dir);
  EXPECT_FALSE(db->meta("site"));
  db->set_meta("site", "1");
  db->set_meta("site", "2");
  EXPECT_EQ(db->meta("site"), "2");
}

TEST(DbTransaction, RolledBackUnlessCommitted) {
  TempDir dir;
  auto db = open_in(dir);
  {
    Db::Transaction t(*db);
    db->allocate_job_id();
    db->insert_job(sample_job(1));
    db->replace_branches("server", "/repos/server", {head("trunk", "a")}, 1);
  }
  EXPECT_EQ(db->next_job_id(), 1);
  EXPECT_TRUE(db->jobs().empty());
  EXPECT_TRUE(db->branches().empty());
  {
    Db::Transaction t(*db);
    db->insert_job(sample_job(1));
    t.commit();
  }
  EXPECT_EQ(db->jobs().size(), 1u);
}

TEST(DbConcurrency, TwoHandlesSeeCommittedWrites) {
  TempDir dir;
  auto a = open_in(dir);
  auto b = open_in(dir);
  EXPECT_EQ(a->allocate_job_id(), 1);
  EXPECT_EQ(b->allocate_job_id(), 2);
  {
    Db::Transaction t(*a);
    a->insert_job(sample_job(10));
    EXPECT_FALSE(b->job(10));  // not yet committed
    t.commit();
  }
  EXPECT_TRUE(b->job(10));
  b->set_meta("from", "b");
  EXPECT_EQ(a->meta("from"), "b");
  EXPECT_EQ(a->next_job_id(), 3);
}

}  // namespace
}  // namespace runbot
