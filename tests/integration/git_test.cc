#include "vcs/git.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "support/support.h"
#include "vcs_repos.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::GitRepo;
using test::TempDir;
using ::testing::HasSubstr;

ProjectConfig project_with(std::vector<std::string> remotes) {
  return test::project_config("server", "git", std::move(remotes));
}

using test::by_branch;

int64_t commit_time(const GitRepo& repo, const std::string& rev) {
  return std::stoll(repo.git({"log", "-1", "--format=%ct", rev}));
}

TEST(GitRemoteKey, StableHexOfTheUrl) {
  EXPECT_EQ(remote_key(""), "rcbf29ce484222325");  // FNV-1a 64 offset basis
  EXPECT_EQ(remote_key("a"), "raf63dc4c8601ec8c");
  EXPECT_EQ(remote_key("/srv/server.git"), remote_key("/srv/server.git"));
  EXPECT_NE(remote_key("/srv/server.git"), remote_key("/srv/server2.git"));
  EXPECT_EQ(remote_key("https://example.org/x.git").size(), 17u);
}

TEST(GitMakeVcs, KnowsGitOnly) {
  EXPECT_NE(make_vcs("git"), nullptr);
  EXPECT_EQ(make_vcs("svn"), nullptr);
}

class GitUpdate : public ::testing::Test {
 protected:
  TempDir dir;
  GitRepo main{dir / "main"};
  GitRepo fork{dir / "fork"};
  fs::path mirror = dir / "repos" / "server";
  GitVcs git;

  std::vector<RemoteHeads> update(const ProjectConfig& p) { return git.update(p, mirror, nullptr); }
};

TEST_F(GitUpdate, HeadsOfTwoRemotesWithCommitTimes) {
  std::string feature = main.commit("trunk-feature", "a.txt", "a\n");
  std::string trunk = main.head("trunk");
  std::string fork_trunk = fork.commit("trunk", "b.txt", "b\n");
  std::string fork_only = fork.commit("fork-only", "c.txt", "c\n");
  auto p = project_with({main.path().string(), fork.path().string()});
  std::vector<std::string> lines;
  auto result = git.update(p, mirror, [&](std::string_view l) { lines.emplace_back(l); });

  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(lines, (std::vector<std::string>{"server: fetching " + main.path().string(),
                                             "server: fetching " + fork.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  ASSERT_TRUE(result[1].ok) << result[1].error;
  EXPECT_EQ(result[0].remote, main.path().string());
  auto m = by_branch(result[0]);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m["trunk"].rev, trunk);
  EXPECT_EQ(m["trunk-feature"].rev, feature);
  EXPECT_EQ(m["trunk-feature"].commit_time, commit_time(main, feature));
  EXPECT_EQ(m["trunk"].project, "server");
  EXPECT_EQ(m["trunk"].remote, main.path().string());
  auto f = by_branch(result[1]);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f["trunk"].rev, fork_trunk);
  EXPECT_EQ(f["fork-only"].rev, fork_only);
  EXPECT_EQ(f["fork-only"].remote, fork.path().string());
  EXPECT_EQ(f["fork-only"].commit_time, commit_time(fork, fork_only));
  EXPECT_EQ(
      test::run({"git", "--git-dir=" + mirror.string(), "rev-parse", "--is-bare-repository"}).out,
      "true\n");

  // A remote dropped from the config is no longer reported, though its refs remain.
  auto only_fork = update(project_with({fork.path().string()}));
  ASSERT_EQ(only_fork.size(), 1u);
  EXPECT_EQ(by_branch(only_fork[0]).size(), 2u);
  EXPECT_EQ(only_fork[0].heads[0].remote, fork.path().string());
}

TEST_F(GitUpdate, SeesNewCommitsForcePushesAndDeletions) {
  std::string old_feature = main.commit("feature", "a.txt", "1\n");
  main.commit("feature", "a.txt", "2\n");
  main.branch("doomed", "trunk");
  auto p = project_with({main.path().string()});
  auto first = update(p);
  ASSERT_TRUE(first[0].ok) << first[0].error;
  EXPECT_EQ(by_branch(first[0]).size(), 3u);

  std::string new_trunk = main.commit("trunk", "t.txt", "new\n");
  main.git({"update-ref", "refs/heads/feature", old_feature});  // a force-push backwards
  main.delete_branch("doomed");
  auto second = update(p);
  ASSERT_TRUE(second[0].ok) << second[0].error;
  auto m = by_branch(second[0]);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["trunk"].rev, new_trunk);
  EXPECT_EQ(m["feature"].rev, old_feature);
  EXPECT_EQ(m.count("doomed"), 0u);
}

TEST_F(GitUpdate, FailingRemoteIsReportedAndOthersStillWork) {
  auto p = project_with({main.path().string(), fork.path().string()});
  ASSERT_TRUE(update(p)[1].ok);
  fs::remove_all(fork.path());
  std::string trunk = main.commit("trunk", "x.txt", "x\n");
  auto result = update(p);
  ASSERT_EQ(result.size(), 2u);
  EXPECT_TRUE(result[0].ok) << result[0].error;
  EXPECT_EQ(by_branch(result[0])["trunk"].rev, trunk);
  EXPECT_FALSE(result[1].ok);
  EXPECT_TRUE(result[1].heads.empty());
  EXPECT_THAT(result[1].error, HasSubstr(fork.path().string()));
  EXPECT_EQ(result[1].error.find('\n'), std::string::npos);
  EXPECT_LE(result[1].error.size(), 310u);
}

TEST_F(GitUpdate, HostileBranchNamesComeBackByteExact) {
  const std::vector<std::string> names = {
      "-x",
      "--upload-pack=touch${IFS}pwned",
      "$(touch${IFS}pwned)",
      "`touch${IFS}pwned`",
      "x<img/src=x/onerror=alert(1)>",
      "fix-\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
      "a;b",
      "it's\"quoted\"",
      "a|b&c",
  };
  std::string trunk = main.head("trunk");
  for (const auto& n : names) main.git({"update-ref", "refs/heads/" + n, trunk});
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  auto m = by_branch(result[0]);
  EXPECT_EQ(m.size(), names.size() + 1);
  for (const auto& n : names) {
    ASSERT_EQ(m.count(n), 1u) << n;
    EXPECT_EQ(m[n].rev, trunk) << n;
  }
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    EXPECT_NE(e.path().filename(), "pwned") << e.path();
  EXPECT_FALSE(fs::exists("pwned"));
}

TEST_F(GitUpdate, BrokenMirrorIsMovedAsideAndRebuilt) {
  fs::create_directories(mirror);
  test::write_text(mirror / "junk", "not a repository\n");
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  EXPECT_EQ(by_branch(result[0]).size(), 1u);
  int aside = 0;
  for (const auto& e : fs::directory_iterator(mirror.parent_path())) {
    if (e.path().filename().string().starts_with("server.broken-")) {
      ++aside;
      EXPECT_TRUE(fs::exists(e.path() / "junk"));
    }
  }
  EXPECT_EQ(aside, 1);
}

TEST_F(GitUpdate, EmptyMirrorDirectoryIsUsedInPlace) {
  fs::create_directories(mirror);
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  EXPECT_EQ(std::distance(fs::directory_iterator(mirror.parent_path()), {}), 1);
}

class GitExport : public GitUpdate {};

TEST_F(GitExport, TarHasFilesSymlinkAndExecutableBit) {
  test::write_text(main.path() / "bin-run.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(main.path() / "bin-run.sh", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_directories(main.path() / "sub");
  test::write_text(main.path() / "sub" / "data.txt", "data\n");
  fs::create_symlink("../README", main.path() / "sub" / "link");
  main.git({"add", "-A"});
  main.git({"commit", "-q", "-m", "tree"});
  std::string rev = main.head("trunk");
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);

  std::string tar;
  auto st = git.export_tar(p, mirror, p.remotes[0], rev, [&](std::string_view d) {
    tar.append(d);
    return true;
  });
  ASSERT_TRUE(st) << st.error().message;
  fs::path file = dir / "export.tar";
  test::write_text(file, tar);
  std::string listing = test::run({"tar", "-tvf", file.string()}).out;
  EXPECT_THAT(listing, HasSubstr(" README\n"));
  EXPECT_THAT(listing, HasSubstr(" sub/data.txt\n"));
  EXPECT_THAT(listing, HasSubstr("sub/link -> ../README"));
  EXPECT_THAT(listing, ::testing::ContainsRegex("-rwx[^\n]* bin-run.sh"));
  EXPECT_THAT(listing, ::testing::ContainsRegex("-rw-[^\n]* sub/data.txt"));
}

TEST_F(GitExport, RejectsBadRevsAndReportsFailures) {
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);
  auto sink = [](std::string_view) { return true; };
  for (const std::string& bad : std::vector<std::string>{
           "HEAD", "--output=/tmp/x", std::string(40, 'g'), std::string(39, 'a')}) {
    auto st = git.export_tar(p, mirror, p.remotes[0], bad, sink);
    ASSERT_FALSE(st) << bad;
    EXPECT_THAT(st.error().message, HasSubstr("not a full commit id"));
  }
  auto missing = git.export_tar(p, mirror, p.remotes[0], std::string(40, 'a'), sink);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("git archive"));

  auto aborted = git.export_tar(p, mirror, p.remotes[0], main.head("trunk"),
                                [](std::string_view) { return false; });
  ASSERT_FALSE(aborted);
  EXPECT_THAT(aborted.error().message, HasSubstr("aborted"));
}

}  // namespace
}  // namespace runbot
