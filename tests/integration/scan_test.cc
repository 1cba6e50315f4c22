#include "tick/scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::GitRepo;
using test::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using BranchKey = std::tuple<std::string, std::string, std::string>;  // project, remote, branch

std::map<BranchKey, BranchHead> branch_map(Db& db) {
  std::map<BranchKey, BranchHead> m;
  for (auto& b : db.branches()) m[{b.project, b.remote, b.branch}] = b;
  return m;
}

std::map<std::pair<std::string, std::string>, RemoteStatus> status_map(Db& db) {
  std::map<std::pair<std::string, std::string>, RemoteStatus> m;
  for (auto& s : db.remote_statuses()) m[{s.project, s.remote}] = s;
  return m;
}

class Scan : public ::testing::Test {
 protected:
  TempDir dir;
  Paths paths{dir / "state"};
  GitRepo server{dir / "server"};
  GitRepo server_fork{dir / "server-fork"};
  GitRepo addons{dir / "addons"};
  std::unique_ptr<Db> db;
  Config config;

  void SetUp() override {
    fs::create_directories(paths.root);
    db = Db::open(paths.db());
    ProjectConfig s;
    s.name = "server";
    s.remotes = {url(server), url(server_fork)};
    s.base_branches = {"trunk"};
    ProjectConfig a;
    a.name = "addons";
    a.remotes = {url(addons)};
    a.base_branches = {"trunk"};
    config.projects = {s, a};
  }

  static std::string url(const GitRepo& r) { return r.path().string(); }
};

TEST_F(Scan, RecordsHeadsAndRemoteStatuses) {
  std::string fix = server_fork.commit("trunk-fix", "f.txt", "fix\n");
  std::vector<std::string> lines;
  auto result =
      scan(config, paths, *db, 1000, true, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(result.remotes, 3);
  EXPECT_EQ(result.failed, 0);
  EXPECT_TRUE(result.warnings.empty());
  // Remotes are fetched at once: a line when each starts and one when it ends.
  EXPECT_EQ(lines.size(), 6u);
  for (const auto& u : {url(server), url(server_fork), url(addons)}) {
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [&](const std::string& l) { return l.ends_with("fetching " + u); }),
              1)
        << u;
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [&](const std::string& l) {
                              return l.find(": " + u + ": ") != std::string::npos &&
                                     l.find(" branches (") != std::string::npos;
                            }),
              1)
        << u;
  }
  EXPECT_TRUE(fs::is_directory(paths.mirror("server")));
  EXPECT_TRUE(fs::is_directory(paths.mirror("addons")));

  auto b = branch_map(*db);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ((b[{"server", url(server), "trunk"}].rev), server.head("trunk"));
  EXPECT_EQ((b[{"server", url(server_fork), "trunk"}].rev), server_fork.head("trunk"));
  EXPECT_EQ((b[{"server", url(server_fork), "trunk-fix"}].rev), fix);
  EXPECT_EQ((b[{"server", url(server_fork), "trunk-fix"}].seen_at), 1000);
  EXPECT_GT((b[{"server", url(server_fork), "trunk-fix"}].commit_time), 0);
  EXPECT_EQ((b[{"addons", url(addons), "trunk"}].rev), addons.head("trunk"));

  auto st = status_map(*db);
  ASSERT_EQ(st.size(), 3u);
  for (auto& [key, s] : st) {
    EXPECT_TRUE(s.ok) << key.second;
    EXPECT_EQ(s.checked_at, 1000);
  }
}

TEST_F(Scan, FailingRemoteKeepsItsBranchesAndWarns) {
  scan(config, paths, *db, 1000, true);
  std::string addons_trunk = addons.head("trunk");
  fs::remove_all(addons.path());
  std::string moved = server.commit("trunk", "x.txt", "x\n");

  auto result = scan(config, paths, *db, 2000, true);
  EXPECT_EQ(result.remotes, 3);
  EXPECT_EQ(result.failed, 1);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_THAT(result.warnings[0], StartsWith("addons: fetch of " + url(addons) + " failed: "));
  EXPECT_THAT(result.warnings[0], HasSubstr("does not appear to be a git repository"));

  auto b = branch_map(*db);
  EXPECT_EQ((b[{"addons", url(addons), "trunk"}].rev), addons_trunk);
  EXPECT_EQ((b[{"addons", url(addons), "trunk"}].seen_at), 1000);
  EXPECT_EQ((b[{"server", url(server), "trunk"}].rev), moved);
  EXPECT_EQ((b[{"server", url(server), "trunk"}].seen_at), 2000);
  auto st = status_map(*db);
  EXPECT_FALSE((st[{"addons", url(addons)}].ok));
  EXPECT_THAT((st[{"addons", url(addons)}].message), HasSubstr("git repository"));
  EXPECT_EQ((st[{"addons", url(addons)}].checked_at), 2000);
  EXPECT_TRUE((st[{"server", url(server)}].ok));
}

TEST_F(Scan, RemovedRemoteAndDeletedBranchAreForgotten) {
  server.branch("trunk-gone", "trunk");
  scan(config, paths, *db, 1000, true);
  EXPECT_EQ(branch_map(*db).size(), 4u);
  server.delete_branch("trunk-gone");
  config.projects[0].remotes = {url(server)};
  auto result = scan(config, paths, *db, 2000, true);
  EXPECT_EQ(result.remotes, 2);
  auto b = branch_map(*db);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.count({"server", url(server_fork), "trunk"}), 0u);
  EXPECT_EQ(b.count({"server", url(server), "trunk-gone"}), 0u);
  auto st = status_map(*db);
  EXPECT_EQ(st.size(), 2u);
  EXPECT_EQ(st.count({"server", url(server_fork)}), 0u);
}

TEST_F(Scan, DryRunRecordsNothing) {
  auto result = scan(config, paths, *db, 1000, false);
  EXPECT_EQ(result.remotes, 3);
  EXPECT_EQ(result.failed, 0);
  EXPECT_TRUE(db->branches().empty());
  EXPECT_TRUE(db->remote_statuses().empty());
}

TEST_F(Scan, UnknownVcsIsAWarningNotACrash) {
  config.projects[1].vcs = "svn";
  auto result = scan(config, paths, *db, 1000, true);
  EXPECT_EQ(result.failed, 1);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_THAT(result.warnings[0], HasSubstr("addons"));
  EXPECT_THAT(result.warnings[0], HasSubstr("unknown vcs 'svn'"));
  EXPECT_EQ(branch_map(*db).size(), 2u);
}

}  // namespace
}  // namespace runbot
