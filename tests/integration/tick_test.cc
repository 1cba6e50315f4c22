// End to end: the real binary on real git repositories.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "state/db.h"
#include "family.h"
#include "util/atomic_file.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

std::set<std::string> group_names(const nlohmann::json& st) {
  std::set<std::string> out;
  for (const auto& g : st["groups"]) out.insert(g["name"]);
  return out;
}

TEST(TickE2E, FirstTickCreatesOneJobPerGroupFromStartJobId) {
  Family f("start_job_id = 220");
  f.addons->commit("trunk-fix-42", "fix.py", "print(42)\n");
  f.web->commit("6.0-fix-typo", "typo.txt", "fixed\n");
  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.err;
  auto st = f.status();
  EXPECT_EQ(group_names(st), (std::set<std::string>{"trunk", "6.0", "trunk-fix-42", "6.0-fix-typo"}));
  std::set<int64_t> ids;
  for (const auto& j : st["jobs"]) ids.insert(j["id"].get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{220, 221, 222, 223}));
  // Base groups get the first ids (created first).
  EXPECT_EQ(jobs_of(st, "trunk").at(0)["id"], 220);
  EXPECT_EQ(jobs_of(st, "6.0").at(0)["id"], 221);
  auto fix = jobs_of(st, "trunk-fix-42").at(0);
  EXPECT_EQ(fix["reason"], "new group");
  EXPECT_EQ(fix["revisions"]["addons"]["branch"], "trunk-fix-42");
  EXPECT_EQ(fix["revisions"]["addons"]["fallback"], false);
  EXPECT_EQ(fix["revisions"]["server"]["branch"], "trunk");
  EXPECT_EQ(fix["revisions"]["server"]["fallback"], true);
  EXPECT_EQ(fix["revisions"]["server"]["rev"], f.server->head("trunk"));
  auto* g = group_of(st, "trunk-fix-42");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)["base"], "trunk");
  EXPECT_EQ(st["next_job_id"], 224);

  // A second tick without new commits records nothing.
  ASSERT_EQ(f.tick().status, 0);
  EXPECT_EQ(f.status()["jobs"].size(), 4u);
  EXPECT_EQ(f.status()["next_job_id"], 224);
}

TEST(TickE2E, NewCommitAndForcePushCreateJobsWithReasons) {
  Family f;
  ASSERT_EQ(f.tick().status, 0);
  std::string old_rev = f.addons->head("trunk");
  std::string new_rev = f.addons->commit("trunk", "a.py", "a = 1\n");
  ASSERT_EQ(f.tick().status, 0);
  auto trunk = jobs_of(f.status(), "trunk");
  ASSERT_EQ(trunk.size(), 2u);
  EXPECT_EQ(trunk[0]["reason"], "addons moved " + old_rev.substr(0, 7) + " -> " + new_rev.substr(0, 7));
  EXPECT_EQ(trunk[0]["revisions"]["addons"]["rev"], new_rev);
  // Job 1 (the old revisions) may still be building: then the force-push below would find
  // them "already queued". Let the builds end first.
  ASSERT_TRUE(f.settle());

  // Force-push back to the old commit: a change too.
  f.addons->git({"checkout", "-q", "trunk"});
  f.addons->git({"reset", "-q", "--hard", old_rev});
  ASSERT_EQ(f.tick().status, 0);
  trunk = jobs_of(f.status(), "trunk");
  ASSERT_EQ(trunk.size(), 3u);
  EXPECT_EQ(trunk[0]["revisions"]["addons"]["rev"], old_rev);
}

TEST(TickE2E, DeletedBranchEndsItsGroup) {
  Family f;
  f.addons->commit("trunk-gone", "g.py", "g\n");
  ASSERT_EQ(f.tick().status, 0);
  ASSERT_NE(group_of(f.status(), "trunk-gone"), nullptr);
  f.addons->delete_branch("trunk-gone");
  ASSERT_EQ(f.tick().status, 0);
  auto st = f.status();
  auto* g = group_of(st, "trunk-gone");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)["deleted"], true);
  EXPECT_EQ(jobs_of(st, "trunk-gone").size(), 1u);
  ASSERT_EQ(f.tick().status, 0);
  EXPECT_EQ(jobs_of(f.status(), "trunk-gone").size(), 1u);
}

TEST(TickE2E, VanishedRemoteIsAWarningNotADeletion) {
  Family f;
  f.web->commit("trunk-web-only", "w.css", "body{}\n");
  ASSERT_EQ(f.tick().status, 0);
  std::filesystem::rename(f.web->path(), f.tmp / "web-moved");
  Cmd t = f.tick();
  EXPECT_EQ(t.status, 0);
  EXPECT_NE(t.err.find("web"), std::string::npos) << t.err;
  auto st = f.status();
  auto* g = group_of(st, "trunk-web-only");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)["deleted"], false);
  bool warned = false;
  for (const auto& r : st["remotes"])
    if (r["project"] == "web" && r["ok"] == false) warned = true;
  EXPECT_TRUE(warned);
  Cmd text = runbot(f.state, {"status"});
  EXPECT_NE(text.out.find("fetch of"), std::string::npos) << text.out;
  EXPECT_EQ(jobs_of(st, "trunk-web-only").size(), 1u);
  // Back again: no new job, the warning is gone.
  std::filesystem::rename(f.tmp / "web-moved", f.web->path());
  ASSERT_EQ(f.tick().status, 0);
  auto after = f.status();
  for (const auto& r : after["remotes"]) EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(jobs_of(f.status(), "trunk-web-only").size(), 1u);
}

TEST(TickE2E, DryRunExplainsAndChangesNothing) {
  Family f;
  ASSERT_TRUE(f.settle());
  std::string before = f.status().dump();
  std::string old_rev = f.addons->head("trunk");
  std::string new_rev = f.addons->commit("trunk", "b.py", "b\n");
  Cmd dry = f.tick({"--dry-run"});
  ASSERT_EQ(dry.status, 0) << dry.err;
  EXPECT_NE(dry.out.find("for trunk: addons moved " + old_rev.substr(0, 7) + " -> " + new_rev.substr(0, 7)),
            std::string::npos)
      << dry.out;
  EXPECT_EQ(f.status().dump(), before);
}

TEST(TickE2E, StatusJsonIsThePublishedDocument) {
  Family f;
  ASSERT_TRUE(f.settle());
  auto published = nlohmann::json::parse(read_text(f.state / "www" / "status.json"));
  EXPECT_EQ(f.status(), published);  // updated_at included: nothing changed since the publish
  f.addons->commit("trunk", "c.py", "c\n");
  ASSERT_EQ(f.tick().status, 0);
  // A building job's steps are read live from its folder: compare once it has finished (the
  // ticks that reap it publish again).
  ASSERT_TRUE(f.settle());
  published = nlohmann::json::parse(read_text(f.state / "www" / "status.json"));
  EXPECT_EQ(f.status(), published);
  EXPECT_EQ(jobs_of(published, "trunk").size(), 2u);
}

// Site files are not synced by a tick (www/ is regenerable): a crashed process cannot lose
// them, a reboot can. The boot they were written in is recorded; a tick in a later boot
// republishes every file, comparing each, which repairs what the kernel lost.
TEST(TickE2E, SiteWrittenInAnEarlierBootIsComparedAndRepaired) {
  Family f;
  ASSERT_TRUE(f.settle());
  auto jobs = f.status()["jobs"];
  ASSERT_GE(jobs.size(), 2u);
  fs::path lost = f.state / "www" / "job" / fmt::format("{}.html", jobs[0]["id"].get<int64_t>());
  fs::path torn = f.state / "www" / "job" / fmt::format("{}.html", jobs[1]["id"].get<int64_t>());
  fs::path index = f.state / "www" / "index.html";
  std::string page = read_text(torn);
  std::string index_html = read_text(index);
  ASSERT_NE(page.find("<html"), std::string::npos);
  auto unsynced_boot = [&] {
    return Db::open(f.state / "runbot.db")->meta("published_unsynced_boot");
  };
  ASSERT_TRUE(boot_id());
  EXPECT_EQ(unsynced_boot(), boot_id());

  // What a power loss can leave: a page gone, another empty, the index cut short.
  fs::remove(lost);
  write_text(torn, "");
  write_text(index, index_html.substr(0, 100));
  // Same boot: nothing changed, so a tick touches nothing (no full comparison every minute).
  ASSERT_EQ(f.tick().status, 0);
  EXPECT_FALSE(fs::exists(lost));
  EXPECT_EQ(read_text(torn), "");

  // A tick after a reboot compares every file and rewrites the damaged ones.
  Db::open(f.state / "runbot.db")->set_meta("published_unsynced_boot", "an-earlier-boot");
  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(fs::exists(lost));
  EXPECT_EQ(read_text(torn), page);
  EXPECT_EQ(read_text(index), index_html);
  EXPECT_EQ(unsynced_boot(), boot_id());
  EXPECT_EQ(nlohmann::json::parse(read_text(f.state / "www" / "status.json")), f.status());
}

TEST(TickE2E, HeldLockMakesATickExitZeroWithOneLine) {
  Family f;
  int fd = ::open((f.state / "tick.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  Cmd t = f.tick();
  ::close(fd);
  EXPECT_EQ(t.status, 0);
  EXPECT_NE(t.out.find("another tick is running"), std::string::npos) << t.out;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), 1);
  EXPECT_EQ(f.status()["jobs"].size(), 0u);
}

TEST(TickE2E, ConcurrentTicksNeverDuplicateJobs) {
  Family f;
  for (int round = 0; round < 3; ++round) {
    f.addons->commit("trunk", "c.py", std::to_string(round));
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_EQ(f.tick().status, 0); });
    for (auto& t : threads) t.join();
  }
  auto st = f.status();
  std::set<std::string> fingerprints;
  std::set<int64_t> ids;
  for (const auto& j : st["jobs"]) {
    EXPECT_TRUE(ids.insert(j["id"].get<int64_t>()).second);
    std::string fp = j["group"].get<std::string>() + "|" + j["revisions"].dump();
    EXPECT_TRUE(fingerprints.insert(fp).second) << "duplicate job for " << fp;
  }
  // Ids are consecutive from 1: none lost.
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), static_cast<int64_t>(ids.size()));
}

TEST(TickE2E, ManualBuildQueuesAJobEvenWithoutChange) {
  Family f;
  ASSERT_EQ(f.tick().status, 0);
  Cmd b = runbot(f.state, {"build", "trunk"});
  ASSERT_EQ(b.status, 0) << b.err;
  auto trunk = jobs_of(f.status(), "trunk");
  ASSERT_EQ(trunk.size(), 2u);
  EXPECT_EQ(trunk[0]["manual"], true);
  EXPECT_EQ(trunk[0]["reason"], "manual build");
  Cmd unknown = runbot(f.state, {"build", "no-such-branch"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("no-such-branch"), std::string::npos);
}

TEST(TickE2E, StartJobIdOnlyRaisesAndCleanKeepsTheSequence) {
  Family f("start_job_id = 50");
  ASSERT_EQ(f.tick().status, 0);
  EXPECT_EQ(f.status()["next_job_id"], 52);
  ASSERT_EQ(f.tick({"--start-job-id", "10"}).status, 0);
  EXPECT_EQ(f.status()["next_job_id"], 52);
  ASSERT_TRUE(f.settle());
  Cmd c = runbot(f.state, {"clean"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(f.status()["jobs"].size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(f.state / "jobs" / "50"));
  Cmd after = f.tick();
  ASSERT_EQ(after.status, 0) << after.err;
  EXPECT_NE(after.out.find("job 52 for trunk: new group"), std::string::npos) << after.out << after.err;
  std::set<int64_t> ids;
  auto restarted = f.status();
  for (const auto& j : restarted["jobs"]) ids.insert(j["id"].get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{52, 53}));
  ASSERT_EQ(f.tick({"--start-job-id", "100"}).status, 0);
  EXPECT_EQ(f.status()["next_job_id"], 100);
  ASSERT_TRUE(f.settle());
}

TEST(TickE2E, HostileBranchNamesAreOnlyData) {
  Family f;
  // git refuses spaces in ref names, hence ${IFS}; names starting with '-' need update-ref.
  std::vector<std::string> names = {"$(touch${IFS}pwned)", "-rf", "x<img/src=x/onerror=alert(1)>",
                                    "--upload-pack=touch${IFS}pwned2", "fix-é-日本", "a;b'c\"d"};
  for (const auto& n : names) {
    std::string rev = f.addons->commit("tmp", "h.txt", n);
    f.addons->git({"update-ref", "refs/heads/" + n, rev});
  }
  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.err;
  auto st = f.status();
  auto got = group_names(st);
  for (const auto& n : names) EXPECT_TRUE(got.count(n)) << n;
  ASSERT_TRUE(f.settle());
  for (const auto& dir : {f.tmp.path(), f.state, f.state / "jobs", f.addons->path()}) {
    EXPECT_FALSE(std::filesystem::exists(dir / "pwned")) << dir;
    EXPECT_FALSE(std::filesystem::exists(dir / "pwned2")) << dir;
  }
  // Nothing under jobs/ is named after a branch.
  for (const auto& e : std::filesystem::directory_iterator(f.state / "jobs")) {
    std::string name = e.path().filename().string();
    EXPECT_TRUE(std::all_of(name.begin(), name.end(), ::isdigit)) << e.path();
  }
}

}  // namespace
}  // namespace runbot::test
