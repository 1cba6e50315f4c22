// Db: opening and schema, branches, remotes, groups, meta, transactions, concurrency.
// The job id sequence and the jobs table are in db_jobs_test.cc.
#include "state/db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <map>

#include "support/support.h"
#include "unit/state/db_test_util.h"

namespace runbot {
namespace {

using db_test::open_in;
using db_test::sample_job;
using test::TempDir;
using ::testing::HasSubstr;

BranchHead head(const std::string& name, const std::string& rev, Time commit_time = 100) {
  return {"server", "/repos/server", name, rev, commit_time, 0};
}

std::map<std::string, BranchHead> branches_by_name(Db& db) {
  std::map<std::string, BranchHead> out;
  for (auto& b : db.branches()) out[b.branch] = b;
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
