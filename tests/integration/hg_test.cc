#include "vcs/hg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "job/export.h"
#include "support/support.h"
#include "vcs/git.h"
#include "vcs_repos.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::HgRepo;
using test::TempDir;
using ::testing::HasSubstr;

ProjectConfig project_with(std::vector<std::string> remotes) {
  return test::project_config("addons", "hg", std::move(remotes));
}

using test::by_branch;

void expect_no_pwned(const fs::path& root) {
  for (const auto& e : fs::recursive_directory_iterator(root))
    EXPECT_NE(e.path().filename(), "pwned") << e.path();
  EXPECT_FALSE(fs::exists("pwned"));
}

TEST(HgMakeVcs, KnowsHg) {
  auto vcs = make_vcs("hg");
  ASSERT_NE(vcs, nullptr);
  EXPECT_NE(dynamic_cast<HgVcs*>(vcs.get()), nullptr);
}

class HgUpdate : public ::testing::Test {
 protected:
  TempDir dir;
  HgRepo main{dir / "main"};
  fs::path mirror = dir / "repos" / "addons";
  HgVcs hg;

  std::vector<RemoteHeads> update(const ProjectConfig& p) { return hg.update(p, mirror, nullptr); }
};

TEST_F(HgUpdate, BranchesAndBookmarksOfTwoRemotesWithCommitTimes) {
  std::string first = main.commit("trunk", "a.txt", "1\n", "1000000000 -7200");
  std::string older_head = main.commit("trunk", "a.txt", "2\n", "1000000100 0");
  std::string feature = main.commit("feature", "f.txt", "f\n", "1000000200 3600");
  // A second head on trunk: the tipmost (in revision order, not by date) is the branch's head.
  std::string trunk = main.commit("trunk", "a.txt", "3\n", "900000000 0", first);
  main.commit("closed", "c.txt", "c\n", "", first);
  main.close_branch("closed");
  main.bookmark({"bm"}, first);
  main.bookmark({"feature"}, older_head);  // a bookmark wins over the named branch
  HgRepo fork{dir / "fork"};
  std::string fork_trunk = fork.commit("trunk", "b.txt", "b\n", "1100000000 0");

  auto p = project_with({main.path().string(), fork.path().string()});
  std::vector<std::string> lines;
  auto result = hg.update(p, mirror, [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(lines, (std::vector<std::string>{"addons: fetching " + main.path().string(),
                                             "addons: fetching " + fork.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  ASSERT_TRUE(result[1].ok) << result[1].error;
  auto m = by_branch(result[0]);
  EXPECT_EQ(m.size(), 3u);  // trunk, feature, bm; not closed
  EXPECT_NE(trunk, older_head);
  EXPECT_EQ(m["trunk"].rev, trunk);
  EXPECT_EQ(m["trunk"].commit_time, 900000000);
  EXPECT_EQ(m["trunk"].remote, main.path().string());
  EXPECT_EQ(m["trunk"].project, "addons");
  EXPECT_EQ(m["bm"].rev, first);
  EXPECT_EQ(m["bm"].commit_time, 1000000000);  // hg dates are UTC seconds plus an offset
  EXPECT_EQ(m["feature"].rev, older_head);
  EXPECT_EQ(m["feature"].commit_time, 1000000100);
  EXPECT_EQ(m.count("closed"), 0u);
  EXPECT_NE(feature, older_head);
  auto f = by_branch(result[1]);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f["trunk"].rev, fork_trunk);
  EXPECT_EQ(f["trunk"].commit_time, 1100000000);
  EXPECT_EQ(f["trunk"].remote, fork.path().string());

  // One repository per remote, without a working copy.
  fs::path sub = mirror / remote_key(main.path().string());
  EXPECT_TRUE(fs::is_directory(sub / ".hg"));
  EXPECT_FALSE(fs::exists(sub / "a.txt"));
  EXPECT_TRUE(fs::is_directory(mirror / remote_key(fork.path().string()) / ".hg"));
}

TEST_F(HgUpdate, SeesNewCommitsClosedBranchesAndBookmarkChanges) {
  std::string first = main.commit("trunk", "a.txt", "1\n");
  main.commit("doomed", "d.txt", "d\n");
  main.bookmark({"gone"}, first);
  std::string second = main.commit("trunk", "a.txt", "2\n");
  main.bookmark({"back"}, second);
  auto p = project_with({main.path().string()});
  auto before = update(p);
  ASSERT_TRUE(before[0].ok) << before[0].error;
  EXPECT_EQ(by_branch(before[0]).size(), 4u);

  std::string third = main.commit("trunk", "a.txt", "3\n");
  main.close_branch("doomed");
  main.delete_bookmark("gone");
  main.bookmark({"back"}, first);  // moved backwards: pull alone would keep the newer one
  auto after = update(p);
  ASSERT_TRUE(after[0].ok) << after[0].error;
  auto m = by_branch(after[0]);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["trunk"].rev, third);
  EXPECT_EQ(m["back"].rev, first);
  EXPECT_EQ(m.count("doomed"), 0u);
  EXPECT_EQ(m.count("gone"), 0u);
}

// A pull killed inside its transaction (at fetch_timeout, or with the tick) leaves a journal
// that makes every later pull abort ("abandoned transaction found"): the next fetch rolls it
// back and the mirror goes on.
TEST_F(HgUpdate, PullKilledInsideItsTransactionIsRolledBackByTheNextFetch) {
  main.commit("trunk", "a.txt", "1\n");
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);
  std::string second = main.commit("trunk", "a.txt", "2\n");
  const fs::path repo = mirror / remote_key(main.path().string());
  // A pull that stops inside its transaction (a hook sleeps there), then is killed -9.
  std::string pid = test::sh("setsid env HGRCPATH= hg --repository=" + repo.string() +
                             " pull -q --config hooks.pretxnchangegroup='sleep 60' " +
                             main.path().string() + " >/dev/null 2>&1 & echo $!");
  for (int i = 0; i < 200 && !fs::exists(repo / ".hg" / "store" / "journal"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(repo / ".hg" / "store" / "journal"));
  ::kill(-std::stoi(pid), SIGKILL);
  for (int i = 0; i < 100 && ::kill(-std::stoi(pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

  auto after = update(p);
  ASSERT_TRUE(after[0].ok) << after[0].error;
  EXPECT_EQ(by_branch(after[0])["trunk"].rev, second);
}

TEST_F(HgUpdate, FailingRemoteIsReportedAndOthersStillWork) {
  std::string trunk = main.commit("trunk", "a.txt", "1\n");
  auto p = project_with({(dir / "missing").string(), main.path().string()});
  auto result = update(p);
  ASSERT_EQ(result.size(), 2u);
  EXPECT_FALSE(result[0].ok);
  EXPECT_TRUE(result[0].heads.empty());
  EXPECT_THAT(result[0].error, HasSubstr("missing"));
  EXPECT_EQ(result[0].error.find('\n'), std::string::npos);
  ASSERT_TRUE(result[1].ok) << result[1].error;
  EXPECT_EQ(by_branch(result[1])["trunk"].rev, trunk);

  auto bad = update(project_with({"-x", "/tmp/a\nb", ""}));
  EXPECT_FALSE(bad[0].ok);
  EXPECT_THAT(bad[0].error, HasSubstr("starts with '-'"));
  EXPECT_FALSE(bad[1].ok);
  EXPECT_THAT(bad[1].error, HasSubstr("control character"));
  EXPECT_FALSE(bad[2].ok);
}

TEST_F(HgUpdate, HostileNamesComeBackByteExact) {
  const std::vector<std::string> names = {
      "-x",
      "--config=evil",
      "$(touch${IFS}pwned)",
      "`touch pwned`",
      "x<img/src=x/onerror=alert(1)>",
      "x<img src=x onerror=alert(1)>",
      "fix-\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
      "a;b|c&d 'q\"",
  };
  // One hg call builds trunk (rev 0) and a named branch per name on top of it (rev i + 1).
  std::string dag = "@trunk +1 :t";
  for (const auto& n : names) {
    dag += " <t @\"";
    for (char c : n) {
      if (c == '"' || c == '\\') dag += '\\';
      dag += c;
    }
    dag += "\" +1";
  }
  main.hg({"debugbuilddag", "-n", "--", dag});
  std::vector<std::string> nodes;
  std::string log = main.hg({"log", "-r", "0:", "--template", "{node}\n"});
  for (size_t at = 0, nl; (nl = log.find('\n', at)) != std::string::npos; at = nl + 1)
    nodes.push_back(log.substr(at, nl - at));
  ASSERT_EQ(nodes.size(), names.size() + 1);
  std::string trunk = nodes[0];
  std::map<std::string, std::string> want{{"trunk", trunk}};
  for (size_t i = 0; i < names.size(); ++i) want[names[i]] = nodes[i + 1];
  std::vector<std::string> marks{"-y"};
  for (const auto& n : names) marks.push_back("bm" + n);
  main.bookmark(marks, trunk);
  for (const auto& n : marks) want[n] = trunk;
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  std::map<std::string, std::string> got;
  for (const auto& h : result[0].heads) got[h.branch] = h.rev;
  EXPECT_EQ(got, want);
  expect_no_pwned(dir.path());
}

TEST_F(HgUpdate, ForeignMirrorIsMovedAside) {
  main.commit("trunk", "a.txt", "1\n");
  fs::create_directories(mirror);
  test::write_text(mirror / "HEAD", "ref: refs/heads/master\n");  // say, a git mirror
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  int aside = 0;
  for (const auto& e : fs::directory_iterator(mirror.parent_path()))
    if (e.path().filename().string().starts_with("addons.broken-")) {
      ++aside;
      EXPECT_TRUE(fs::exists(e.path() / "HEAD"));
    }
  EXPECT_EQ(aside, 1);
  EXPECT_FALSE(fs::exists(mirror / "HEAD"));
}

class HgExport : public HgUpdate {};

TEST_F(HgExport, TreeWithSymlinkAndExecutableAtTheTop) {
  std::string rev = main.commit("trunk", "sub/data.txt", "data\n", "", "", [](const fs::path& wt) {
    test::write_text(wt / "run.sh", "#!/bin/sh\necho hi\n");
    fs::permissions(wt / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
    fs::create_symlink("sub/data.txt", wt / "link");
  });
  main.commit("trunk", "later.txt", "later\n");
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);

  fs::path dest = dir / "src" / "addons";
  auto st = extract_tar_stream(
      dest, [&](const TarSink& sink) { return hg.export_tar(p, mirror, p.remotes[0], rev, sink); });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(test::read_text(dest / "sub" / "data.txt"), "data\n");
  EXPECT_TRUE(fs::is_symlink(dest / "link"));
  EXPECT_EQ(fs::read_symlink(dest / "link"), "sub/data.txt");
  EXPECT_NE(fs::status(dest / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_EQ(fs::status(dest / "sub" / "data.txt").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_FALSE(fs::exists(dest / "later.txt"));
  EXPECT_FALSE(fs::exists(dest / ".hg_archival.txt"));
  std::set<std::string> top;
  for (const auto& e : fs::directory_iterator(dest)) top.insert(e.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"link", "run.sh", "sub"}));
}

TEST_F(HgExport, RejectsBadRevsAndUnknownRemotes) {
  std::string rev = main.commit("trunk", "a.txt", "1\n");
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);
  auto sink = [](std::string_view) { return true; };
  for (const std::string& bad : std::vector<std::string>{"tip", "trunk", "--config=x", "-r",
                                                         std::string(40, 'g'), rev.substr(1)}) {
    auto st = hg.export_tar(p, mirror, p.remotes[0], bad, sink);
    ASSERT_FALSE(st) << bad;
    EXPECT_THAT(st.error().message, HasSubstr("not a full changeset id"));
  }
  auto other = hg.export_tar(p, mirror, "/elsewhere", rev, sink);
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("no mirror of /elsewhere"));
  auto missing = hg.export_tar(p, mirror, p.remotes[0], std::string(40, 'a'), sink);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("hg archive"));
  auto aborted =
      hg.export_tar(p, mirror, p.remotes[0], rev, [](std::string_view) { return false; });
  ASSERT_FALSE(aborted);
  EXPECT_THAT(aborted.error().message, HasSubstr("aborted"));
}

}  // namespace
}  // namespace runbot
