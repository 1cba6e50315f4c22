#include "vcs/bzr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "job/export.h"
#include "support/support.h"
#include "vcs/bzr_location.h"
#include "vcs/git.h"
#include "vcs_repos.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::BzrRepo;
using test::TempDir;
using ::testing::HasSubstr;

// 2001-09-09 01:46:40 UTC, written with a +0200 offset.
constexpr const char* kBillion = "2001-09-09 03:46:40 +0200";

ProjectConfig project_with(std::vector<std::string> remotes) {
  return test::project_config("web", "bzr", std::move(remotes));
}

using test::by_branch;

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

TEST(BzrMakeVcs, KnowsBzr) {
  auto vcs = make_vcs("bzr");
  ASSERT_NE(vcs, nullptr);
  EXPECT_NE(dynamic_cast<BzrVcs*>(vcs.get()), nullptr);
}

TEST(BzrDate, ParsesOffsetsStrictly) {
  EXPECT_EQ(parse_bzr_date("2001-09-09 01:46:40 +0000"), 1000000000);
  EXPECT_EQ(parse_bzr_date(kBillion), 1000000000);
  EXPECT_EQ(parse_bzr_date("2001-09-08 23:16:40 -0230"), 1000000000);
  EXPECT_EQ(parse_bzr_date("1970-01-01 00:00:00 +0000"), 0);
  for (const char* bad : {"", "2001-09-09 01:46:40", "2001-09-09 01:46:40 0000",
                          "2001-09-09T01:46:40 +0000", "2001-13-09 01:46:40 +0000",
                          "2001-09-09 01:46:40 +0000\n", "Sun 2001-09-09 01:46:40 +0000"})
    EXPECT_EQ(parse_bzr_date(bad), std::nullopt) << bad;
}

TEST(BzrRevid, StrictCharset) {
  for (const char* ok :
       {"t@example.org-20010909014640-3uzioqctx8lkmd4o",
        "git-v1:0123456789abcdef0123456789abcdef01234567", "svn-v4:uuid:trunk/sub:12", "a+b~c=d,e"})
    EXPECT_TRUE(is_bzr_revid(ok)) << ok;
  for (const char* bad : {"", "-r", "--config=x", "a b", "a\nb", "a\tb", "$(touch pwned)", "a;b",
                          "a'b", "a\"b", "x<y>"})
    EXPECT_FALSE(is_bzr_revid(bad)) << bad;
  EXPECT_FALSE(is_bzr_revid(std::string("a\0b", 3)));
}

TEST(BzrLocation, ListedBranchNames) {
  using bzr::listed_branch_name;
  // Lines as brz 3.3 prints them: the first segment escaped, later ones display-decoded.
  EXPECT_EQ(listed_branch_name("trunk"), "trunk");
  EXPECT_EQ(listed_branch_name("team/feat"), "team/feat");
  EXPECT_EQ(listed_branch_name("%24%28touch%24%7BIFS%7Dpwned%29"), "$(touch${IFS}pwned)");
  EXPECT_EQ(listed_branch_name("-x"), "-x");
  EXPECT_EQ(listed_branch_name("%C3%A9%2541"), "\xc3\xa9%41");
  EXPECT_EQ(listed_branch_name("x%3Cimg/src%3Dx/onerror%3Dalert(1)>"),
            "x<img/src=x/onerror=alert(1)>");
  EXPECT_EQ(listed_branch_name("team/\xc3\xa9%41%3Bx"), "team/\xc3\xa9%41;x");
  EXPECT_EQ(listed_branch_name("team/100%"), "team/100%");
  EXPECT_EQ(listed_branch_name("team/%FF"), "team/\xff");  // not UTF-8: left escaped by brz
  for (const char* bad : {"", ".", "/abs", "a//b", "100%", "%4"})
    EXPECT_EQ(listed_branch_name(bad), std::nullopt) << bad;
}

TEST(BzrLocation, UrlsAndOwnNames) {
  EXPECT_TRUE(bzr::is_url("bzr+ssh://host/srv"));
  EXPECT_TRUE(bzr::is_url("lp:project"));
  EXPECT_FALSE(bzr::is_url("/srv/bzr"));
  EXPECT_FALSE(bzr::is_url("rel/a:b"));
  EXPECT_EQ(bzr::base_url("/srv/my repo/"), "file:///srv/my%20repo");
  EXPECT_EQ(bzr::base_url("http://h/x/"), "http://h/x");
  EXPECT_EQ(bzr::url_escape("a b/\xc3\xa9%"), "a%20b/%C3%A9%25");
  EXPECT_EQ(bzr::own_name("/srv/bzr/server/trunk"), "trunk");
  EXPECT_EQ(bzr::own_name("/srv/bzr/server/6.0/"), "6.0");
  EXPECT_EQ(bzr::own_name("http://h/b/fix%20it"), "fix it");
  EXPECT_EQ(bzr::own_name("lp:openerp-web"), "openerp-web");
}

class BzrUpdate : public ::testing::Test {
 protected:
  TempDir dir;
  BzrRepo main{dir / "main"};
  fs::path mirror = dir / "repos" / "web";
  BzrVcs bzr;

  std::vector<RemoteHeads> update(const ProjectConfig& p) { return bzr.update(p, mirror, nullptr); }
};

// A brz killed at its fetch bound leaves its branch write lock (`.bzr/branch/lock/held`): every
// later pull failed with "Could not acquire lock". The next fetch breaks it (only the fetching
// tick, under fetch.lock, writes a mirror) and goes on.
TEST_F(BzrUpdate, LockLeftByAKilledPullIsBrokenByTheNextFetch) {
  main.commit("trunk", "a.txt", "1\n");
  auto p = project_with({(main.path() / "trunk").string()});
  ASSERT_TRUE(update(p)[0].ok);
  fs::path branch;
  for (const auto& e : fs::recursive_directory_iterator(mirror))
    if (e.path().filename() == "branch" && fs::exists(e.path() / "format"))
      branch = e.path().parent_path().parent_path();
  ASSERT_FALSE(branch.empty());
  // A remote that accepts the connection (the kernel's backlog) and never answers.
  test::LoopbackListener listener(0, 8);
  std::string pid = test::sh(
      "BRZ_LOG=/dev/null setsid brz pull -q --overwrite -d " + branch.string() +
      " http://127.0.0.1:" + std::to_string(listener.port()) + "/x >/dev/null 2>&1 & echo $!");
  const fs::path held = branch / ".bzr" / "branch" / "lock" / "held";
  for (int i = 0; i < 200 && !fs::exists(held); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(held)) << "brz never took its lock";
  ::kill(-std::stoi(pid), SIGKILL);
  for (int i = 0; i < 100 && ::kill(-std::stoi(pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  listener.close();

  std::string second = main.commit("trunk", "a.txt", "2\n");
  auto after = update(p);
  ASSERT_TRUE(after[0].ok) << after[0].error;
  EXPECT_EQ(by_branch(after[0])["trunk"].rev, second);
}

TEST_F(BzrUpdate, SharedRepositoryAndSingleBranchRemotes) {
  std::string trunk = main.commit("trunk", "a.txt", "1\n", kBillion);
  main.branch("team/feat", "trunk");
  std::string feat = main.commit("team/feat", "f.txt", "f\n", "2001-09-09 01:46:50 +0000");
  BzrRepo other{dir / "other"};
  std::string other_trunk = other.commit("trunk", "o.txt", "o\n", "2001-09-09 01:47:00 -0100");
  const std::string single = (other.path() / "trunk").string();

  auto p = project_with({main.path().string(), single});
  std::vector<std::string> lines;
  auto result = bzr.update(p, mirror, [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(lines, (std::vector<std::string>{"web: fetching " + main.path().string(),
                                             "web: fetching " + single}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  ASSERT_TRUE(result[1].ok) << result[1].error;
  auto m = by_branch(result[0]);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m["trunk"].rev, trunk);
  EXPECT_EQ(m["trunk"].commit_time, 1000000000);
  EXPECT_EQ(m["trunk"].remote, main.path().string());
  EXPECT_EQ(m["trunk"].project, "web");
  EXPECT_EQ(m["team/feat"].rev, feat);
  EXPECT_EQ(m["team/feat"].commit_time, 1000000010);
  auto o = by_branch(result[1]);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o["trunk"].rev, other_trunk);
  EXPECT_EQ(o["trunk"].commit_time, 1000000020 + 3600);
  EXPECT_EQ(o["trunk"].remote, single);

  // One shared repository per remote; branch folders are hashes, never names.
  fs::path repo = mirror / remote_key(main.path().string());
  EXPECT_TRUE(fs::exists(repo / ".bzr" / "repository"));
  auto names = entries(repo);
  names.erase(".bzr");
  ASSERT_EQ(names.size(), 2u);
  for (const auto& n : names) EXPECT_THAT(n, ::testing::MatchesRegex("b[0-9a-f]{16}"));
}

TEST_F(BzrUpdate, SeesNewCommitsRewindsAndDeletedBranches) {
  std::string first = main.commit("trunk", "a.txt", "1\n");
  std::string second = main.commit("trunk", "a.txt", "2\n");
  main.branch("rewind", "trunk");
  main.branch("doomed", "trunk");
  auto p = project_with({main.path().string()});
  auto before = update(p);
  ASSERT_TRUE(before[0].ok) << before[0].error;
  EXPECT_EQ(by_branch(before[0]).size(), 3u);
  fs::path repo = mirror / remote_key(main.path().string());
  EXPECT_EQ(entries(repo).size(), 4u);

  std::string third = main.commit("trunk", "a.txt", "3\n");
  main.brz({"uncommit", "-q", "--force"}, main.path() / "rewind");  // history moves backwards
  fs::remove_all(main.path() / "doomed");
  auto after = update(p);
  ASSERT_TRUE(after[0].ok) << after[0].error;
  auto m = by_branch(after[0]);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["trunk"].rev, third);
  EXPECT_EQ(m["rewind"].rev, first);
  EXPECT_EQ(m.count("doomed"), 0u);
  EXPECT_EQ(entries(repo).size(), 3u);  // the deleted branch's folder is gone
  EXPECT_NE(second, third);
}

TEST_F(BzrUpdate, FailingRemoteIsReportedAndOthersStillWork) {
  std::string trunk = main.commit("trunk", "a.txt", "1\n");
  fs::create_directories(dir / "plain");
  auto p =
      project_with({(dir / "missing").string(), main.path().string(), (dir / "plain").string()});
  auto result = update(p);
  ASSERT_EQ(result.size(), 3u);
  EXPECT_FALSE(result[0].ok);
  EXPECT_TRUE(result[0].heads.empty());
  EXPECT_THAT(result[0].error, HasSubstr((dir / "missing").string()));
  EXPECT_EQ(result[0].error.find('\n'), std::string::npos);
  ASSERT_TRUE(result[1].ok) << result[1].error;
  EXPECT_EQ(by_branch(result[1])["trunk"].rev, trunk);
  EXPECT_FALSE(result[2].ok);  // a folder without branches is not taken for "no branches"
  EXPECT_THAT(result[2].error, HasSubstr("Not a branch"));

  auto bad = update(project_with({"-x", "/tmp/a\nb"}));
  EXPECT_THAT(bad[0].error, HasSubstr("starts with '-'"));
  EXPECT_THAT(bad[1].error, HasSubstr("control character"));
}

TEST_F(BzrUpdate, HostileNamesComeBackByteExact) {
  const std::vector<std::string> names = {
      "-x",
      "--config=evil",
      "$(touch${IFS}pwned)",
      "x<img/src=x/onerror=alert(1)>",
      "fix-\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
      "a b;c%41",
      "team/\xc3\xa9%41;x",
      "team/100%",
  };
  std::string trunk = main.commit("trunk", "a.txt", "1\n");
  for (const auto& n : names) main.quick_branch(n, "trunk");
  auto result = update(project_with({main.path().string()}));
  ASSERT_TRUE(result[0].ok) << result[0].error;
  std::map<std::string, std::string> got, want{{"trunk", trunk}};
  for (const auto& h : result[0].heads) got[h.branch] = h.rev;
  for (const auto& n : names) want[n] = trunk;
  EXPECT_EQ(got, want);
  for (const auto& e : fs::recursive_directory_iterator(dir.path()))
    EXPECT_NE(e.path().filename(), "pwned") << e.path();
  EXPECT_FALSE(fs::exists("pwned"));
}

class BzrExport : public BzrUpdate {};

TEST_F(BzrExport, TreeWithSymlinkAndExecutableAtTheTop) {
  std::string rev = main.commit("trunk", "sub/data.txt", "data\n", "", [](const fs::path& wt) {
    test::write_text(wt / "run.sh", "#!/bin/sh\necho hi\n");
    fs::permissions(wt / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
    fs::create_symlink("sub/data.txt", wt / "link");
  });
  std::string later = main.commit("trunk", "later.txt", "later\n");
  auto p = project_with({main.path().string()});
  ASSERT_TRUE(update(p)[0].ok);

  fs::path dest = dir / "src" / "web";
  auto st = extract_tar_stream(dest, [&](const TarSink& sink) {
    return bzr.export_tar(p, mirror, p.remotes[0], rev, sink);
  });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(test::read_text(dest / "sub" / "data.txt"), "data\n");
  EXPECT_TRUE(fs::is_symlink(dest / "link"));
  EXPECT_EQ(fs::read_symlink(dest / "link"), "sub/data.txt");
  EXPECT_NE(fs::status(dest / "run.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  EXPECT_EQ(fs::status(dest / "sub" / "data.txt").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_EQ(entries(dest), (std::set<std::string>{"link", "run.sh", "sub"}));

  auto sink = [](std::string_view) { return true; };
  for (const std::string& bad : std::vector<std::string>{"", "-1", "--root=x", "a b", "null:"}) {
    auto r = bzr.export_tar(p, mirror, p.remotes[0], bad, sink);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("not a bzr revision id"));
  }
  auto other = bzr.export_tar(p, mirror, "/elsewhere", later, sink);
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("no mirror of /elsewhere"));
  auto missing = bzr.export_tar(p, mirror, p.remotes[0], "no-such-revision", sink);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("brz export"));
}

}  // namespace
}  // namespace runbot
