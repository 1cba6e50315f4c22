// The "slurm" executor end to end (SPEC "Executors"), on the real one-node cluster of
// support/slurm (started once per test process): a family built on Slurm with ok/warn/ko
// results and its instances reached through nginx, kill, the number limit, a Slurm job
// cancelled behind the runbot's back, a queued job, a kill -9 of the tick between sbatch and
// recording, and clean leaving no Slurm job of the runbot.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "family.h"
#include "job/job_file.h"
#include "support/slurm.h"
#include "util/fd.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ok on base branches, warn or ko on branches named so; the instance serves its src/.
const char* kBuild =
    "steps = [{ name = \"test\", run = \"case $RUNBOT_GROUP in *warn*) echo WARNING: w;; "
    "*ko*) echo ERROR: e;; *slow*) sleep 120;; esac\" }]\n"
    "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"\n";

std::string slurm_sections(const std::string& more = "") {
  return "[sandbox]\nmemory = \"256M\"\n\n[executor]\nkind = \"slurm\"\n" + more;
}

// A Slurm job as squeue shows it.
struct SlurmState {
  std::string id, name, state;
};

struct SlurmFamily {
  SlurmCluster* cluster = nullptr;
  int port = free_port();
  std::unique_ptr<Family> f;

  SlurmFamily(SlurmCluster* c, const std::string& extra_runbot = "",
              const std::string& more_executor = "", bool nginx = false)
      : cluster(c) {
    std::string runbot = extra_runbot;
    if (nginx)
      runbot += fmt::format(
          "\nnginx = \"private\"\nnginx_port = {}\ndomain = \"runbot.localhost\"\n", port);
    f = std::make_unique<Family>(runbot, kBuild, slurm_sections(more_executor));
    f->launch.env = cluster->env();
  }
  // Every Slurm job of this family's state dir.
  std::vector<SlurmState> slurm_jobs() const {
    Cmd q = cluster->client({"squeue", "-h", "-t", "all", "-o", "%i|%j|%T|%k"});
    EXPECT_EQ(q.status, 0) << q.err;
    std::vector<SlurmState> out;
    std::istringstream in(q.out);
    std::string line;
    while (std::getline(in, line)) {
      auto a = line.find('|'), b = line.find('|', a + 1), c = line.find('|', b + 1);
      if (c == std::string::npos || line.substr(c + 1) != f->state.string()) continue;
      out.push_back(
          {line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1)});
    }
    return out;
  }
  std::vector<SlurmState> live_slurm_jobs() const {
    std::vector<SlurmState> out;
    for (const SlurmState& s : slurm_jobs())
      if (s.state == "PENDING" || s.state == "RUNNING" || s.state == "COMPLETING" ||
          s.state == "CONFIGURING")
        out.push_back(s);
    return out;
  }
  std::string slurm_state(const std::string& id) const {
    for (const SlurmState& s : slurm_jobs())
      if (s.id == id) return s.state;
    return "";
  }
  // Ticks until `pred` holds on status.json (bounded: false after `seconds`).
  template <typename Pred>
  bool tick_until(Pred pred, double seconds = 60) const {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      f->tick();
      if (pred(f->status())) return true;
      std::this_thread::sleep_for(300ms);
    }
    return false;
  }
  nlohmann::json job(const nlohmann::json& st, const std::string& group) const {
    auto jobs = jobs_of(st, group);
    return jobs.empty() ? nlohmann::json() : jobs.front();
  }
  std::string code(int64_t id) const {
    Cmd c = run({"curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                 fmt::format("Host: {}.runbot.localhost", id),
                 fmt::format("http://127.0.0.1:{}/", port)});
    return c.out;
  }
};

TEST(SlurmE2E, FamilyBuildsOkWarnKoAndInstancesAnswerThroughNginxThenCleanLeavesNoSlurmJob) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "number = 8\nworkers = 4", "", true);
  s.f->addons->commit("trunk-warn", "w.py", "w = 1\n");
  s.f->addons->commit("trunk-ko", "k.py", "k = 1\n");
  ASSERT_TRUE(s.f->settle(90));
  auto st = s.f->status();
  std::map<std::string, std::string> results;
  for (const char* g : {"trunk", "6.0", "trunk-warn", "trunk-ko"}) {
    auto j = s.job(st, g);
    ASSERT_FALSE(j.is_null()) << g;
    results[g] = j["result"].is_null() ? "" : j["result"].get<std::string>();
    // Each job says where it ran: its Slurm job id and node.
    EXPECT_EQ(j["executor"]["kind"], "slurm") << j.dump();
    EXPECT_FALSE(j["executor"].value("id", "").empty()) << j.dump();
    EXPECT_EQ(j["executor"]["host"], "localhost") << j.dump();
  }
  EXPECT_EQ(results["trunk"], "ok");
  EXPECT_EQ(results["6.0"], "ok");
  EXPECT_EQ(results["trunk-warn"], "warn");
  EXPECT_EQ(results["trunk-ko"], "ko");
  // One Slurm job per runbot job, named runbot-<id>, its output in the job's runner.log.
  std::set<std::string> names;
  for (const SlurmState& j : s.slurm_jobs()) names.insert(j.name);
  for (const auto& j : st["jobs"]) {
    int64_t id = j["id"];
    EXPECT_TRUE(names.count(fmt::format("runbot-{}", id))) << id;
    EXPECT_NE(read_text(s.f->state / "jobs" / std::to_string(id) / "runner.log").find("result "),
              std::string::npos);
  }
  // The live instances run inside their Slurm jobs, proxied by nginx to <node>:<port>.
  int64_t warn_id = s.job(st, "trunk-warn")["id"];
  EXPECT_EQ(s.job(st, "trunk-warn")["state"], "running");
  EXPECT_EQ(s.job(st, "trunk-ko")["state"], "done");
  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    answered = s.code(warn_id) == "200";
    if (!answered) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(answered) << "the warn job's instance never answered through nginx";
  EXPECT_NE(read_text(s.f->state / "nginx" / "runbot.conf").find("proxy_pass http://localhost:"),
            std::string::npos);
  Cmd text = s.f->command({"status"});
  EXPECT_NE(text.out.find("[slurm "), std::string::npos) << text.out;
  EXPECT_FALSE(s.live_slurm_jobs().empty());

  Cmd clean = s.f->command({"clean"});
  EXPECT_EQ(clean.status, 0) << clean.out << clean.err;
  EXPECT_TRUE(s.live_slurm_jobs().empty()) << "clean left a Slurm job of the runbot";
}

TEST(SlurmE2E, KillCancelsTheSlurmJobAndCancelledBehindItsBackIsKo) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "workers = 4");
  s.f->addons->commit("trunk-slow-a", "a.py", "a = 1\n");
  s.f->addons->commit("trunk-slow-b", "b.py", "b = 1\n");
  auto building_on_slurm = [&](const nlohmann::json& st) {
    for (const char* g : {"trunk-slow-a", "trunk-slow-b"}) {
      auto j = s.job(st, g);
      if (j.is_null() || j["state"] != "building" || j["executor"].is_null() ||
          j["executor"].value("id", "").empty() || !j["note"].get<std::string>().empty())
        return false;
    }
    return true;
  };
  ASSERT_TRUE(s.tick_until(building_on_slurm)) << s.f->status().dump(2);
  auto st = s.f->status();
  auto a = s.job(st, "trunk-slow-a"), b = s.job(st, "trunk-slow-b");
  std::string a_slurm = a["executor"]["id"], b_slurm = b["executor"]["id"];

  // kill: scancel, verified before it answers.
  Cmd kill = s.f->command({"kill", std::to_string(a["id"].get<int64_t>())});
  EXPECT_EQ(kill.status, 0) << kill.err;
  EXPECT_EQ(s.slurm_state(a_slurm), "CANCELLED");

  // Cancelled behind the runbot's back: ko with Slurm's state in the note.
  Cmd cancel = cluster->client({"scancel", b_slurm});
  ASSERT_EQ(cancel.status, 0) << cancel.err;
  ASSERT_TRUE(s.tick_until(
      [&](const nlohmann::json& now) { return s.job(now, "trunk-slow-b")["state"] == "done"; }));
  st = s.f->status();
  EXPECT_EQ(s.job(st, "trunk-slow-a")["result"], "killed");
  EXPECT_EQ(s.job(st, "trunk-slow-b")["result"], "ko");
  EXPECT_EQ(s.job(st, "trunk-slow-b")["note"], "slurm: CANCELLED");
}

TEST(SlurmE2E, QueuedInSlurmIsBuildingWithItsNoteAndCountsAgainstWorkers) {
  RUNBOT_REQUIRE_SLURM(cluster);
  // Held jobs stay PENDING in Slurm for ever.
  SlurmFamily s(cluster, "workers = 1", "sbatch_args = [\"--hold\"]\n");
  ASSERT_TRUE(s.tick_until([&](const nlohmann::json& st) {
    for (const auto& j : st["jobs"])
      if (j["state"] == "building" && j["note"] == "queued in slurm") return true;
    return false;
  }));
  auto st = s.f->status();
  int building = 0, pending = 0;
  for (const auto& j : st["jobs"]) {
    building += j["state"] == "building";
    pending += j["state"] == "pending";
  }
  EXPECT_EQ(building, 1);  // workers = 1: the queued one holds the only slot
  EXPECT_GE(pending, 1);
  EXPECT_EQ(s.live_slurm_jobs().size(), 1u);
  Cmd clean = s.f->command({"clean"});
  EXPECT_EQ(clean.status, 0) << clean.err;
  EXPECT_TRUE(s.live_slurm_jobs().empty());
}

TEST(SlurmE2E, TickKilledBetweenSbatchAndRecordingNeitherLosesNorDuplicatesTheJob) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "workers = 1");
  Launch crashing = s.f->launch;
  crashing.env["RUNBOT_FAILPOINT"] = "launch.after-spawn";
  Cmd crashed = crashing.runbot(s.f->state, {"tick"});
  EXPECT_NE(crashed.status, 0) << "the failpoint did not fire";
  ASSERT_EQ(s.slurm_jobs().size(), 1u);  // submitted, not recorded
  std::string submitted = s.slurm_jobs().front().id;
  ASSERT_TRUE(s.f->settle(60));
  auto st = s.f->status();
  // The job that was submitted is the one that ran, found again by its name.
  int64_t first = 0;
  for (const auto& j : st["jobs"])
    if (j["executor"].is_object() && j["executor"].value("id", "") == submitted) first = j["id"];
  ASSERT_NE(first, 0) << st.dump(2);
  int named = 0;
  for (const SlurmState& j : s.slurm_jobs()) named += j.name == fmt::format("runbot-{}", first);
  EXPECT_EQ(named, 1) << "a second sbatch for the same job";
  for (const auto& j : st["jobs"])
    if (j["id"] == first) {
      EXPECT_EQ(j["result"], "ok") << j.dump();
    }
}

TEST(SlurmE2E, NumberLimitStopsTheOldestInstanceWithScancel) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "number = 1\nworkers = 2");
  s.f->addons->commit("trunk-feature", "f.py", "f = 1\n");
  ASSERT_TRUE(s.f->settle(90));
  ASSERT_TRUE(s.tick_until([&](const nlohmann::json& st) {
    int running = 0;
    for (const auto& j : st["jobs"]) running += j["state"] == "running";
    return running <= 1;
  }));
  auto st = s.f->status();
  int running = 0;
  for (const auto& j : st["jobs"]) {
    if (j["state"] == "running") {
      ++running;
      continue;
    }
    // Every stopped instance's Slurm job has ended.
    std::string id = j["executor"].is_object() ? j["executor"].value("id", "") : "";
    if (!id.empty()) {
      EXPECT_NE(s.slurm_state(id), "RUNNING") << j.dump();
    }
  }
  EXPECT_EQ(running, 1);
  EXPECT_EQ(s.live_slurm_jobs().size(), 1u);
}

TEST(SlurmE2E, WakeStartsTheInstanceInANewSlurmJob) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster);
  ASSERT_TRUE(s.f->settle(90));
  auto trunk = s.job(s.f->status(), "trunk");
  ASSERT_EQ(trunk["state"], "running") << trunk.dump(2);
  std::string id = std::to_string(trunk["id"].get<int64_t>());
  std::string first_slurm = trunk["executor"]["id"];
  ASSERT_EQ(s.f->command({"kill", id}).status, 0);
  EXPECT_EQ(s.slurm_state(first_slurm), "CANCELLED");
  Cmd wake = s.f->command({"wake", id});
  ASSERT_EQ(wake.status, 0) << wake.err;
  // Running in a Slurm job of its own, on a node, and answering on its port there.
  ASSERT_TRUE(s.tick_until([&](const nlohmann::json& st) {
    auto j = s.job(st, "trunk");
    return j["state"] == "running" && j["executor"].is_object() &&
           j["executor"].value("id", "") != first_slurm && j["executor"]["host"] == "localhost";
  })) << s.job(s.f->status(), "trunk").dump(2);
  auto woken = s.job(s.f->status(), "trunk");
  EXPECT_EQ(s.slurm_state(woken["executor"]["id"]), "RUNNING");
  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    Cmd c = run({"curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                 fmt::format("http://127.0.0.1:{}/", woken["port"].get<int>())});
    answered = c.out == "200";
    if (!answered) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(answered) << "the woken instance never answered";
}

// SPEC: "on a port of port_range free on its node". The job waits in Slurm's queue (held)
// while the port the tick chose gets taken on the node: the instance takes another.
TEST(SlurmE2E, PortTakenOnTheNodeMovesTheInstanceToAFreeOne) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "workers = 1", "sbatch_args = [\"--hold\"]\n");
  s.f->tick();
  auto st = s.f->status();
  int64_t id = 0;
  std::string slurm_id;
  for (const auto& j : st["jobs"])
    if (j["state"] == "building") {
      id = j["id"];
      slurm_id = j["executor"]["id"];
    }
  ASSERT_NE(id, 0) << st.dump(2);
  auto spec = read_job_spec(s.f->state / "jobs" / std::to_string(id));
  ASSERT_TRUE(spec) << spec.error().message;
  int chosen = spec->port;
  ASSERT_GT(chosen, 0);
  // Taken on the node before the job runs there.
  Fd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;  // earlier tests' connections to this range may linger in TIME_WAIT
  ::setsockopt(taken.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(chosen));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken.get(), 1), 0);
  Cmd release = cluster->client({"scontrol", "release", slurm_id});
  ASSERT_EQ(release.status, 0) << release.err;
  ASSERT_TRUE(s.tick_until([&](const nlohmann::json& now) {
    for (const auto& j : now["jobs"])
      if (j["id"] == id) return j["state"] == "running";
    return false;
  }));
  nlohmann::json job, now = s.f->status();
  for (const auto& j : now["jobs"])
    if (j["id"] == id) job = j;
  ASSERT_TRUE(job["port"].is_number()) << job.dump(2);
  int port = job["port"];
  EXPECT_NE(port, chosen);
  bool answered = false;
  for (int i = 0; i < 50 && !answered; ++i) {
    Cmd c = run({"curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                 fmt::format("http://127.0.0.1:{}/", port)});
    answered = c.out == "200";
    if (!answered) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(answered) << "the instance does not answer on the port status.json gives";
}

// Last: it takes the node down for a while (slurmd killed, the node declared DOWN after
// SlurmdTimeout), then brings it back for whatever runs after.
TEST(SlurmE2E, NodeFailureDuringABuildMakesItKoWithNodeFail) {
  RUNBOT_REQUIRE_SLURM(cluster);
  SlurmFamily s(cluster, "workers = 4");
  s.f->addons->commit("trunk-slow", "s.py", "s = 1\n");
  ASSERT_TRUE(s.tick_until([&](const nlohmann::json& st) {
    auto j = s.job(st, "trunk-slow");
    // Running on the node: its step has started (Slurm allocating it is not enough).
    return !j.is_null() && j["state"] == "building" && j["note"] == "" &&
           j["executor"].is_object() && !j["executor"].value("id", "").empty() &&
           fs::exists(s.f->state / "jobs" / std::to_string(j["id"].get<int64_t>()) / "logs" /
                      "test.log");
  }));
  ASSERT_TRUE(cluster->kill_slurmd());
  // Slurm needs SlurmdTimeout (20 s) and more to call the node dead.
  bool ended = s.tick_until(
      [&](const nlohmann::json& st) { return s.job(st, "trunk-slow")["state"] == "done"; }, 150);
  bool back = cluster->restart_slurmd();
  ASSERT_TRUE(ended) << s.job(s.f->status(), "trunk-slow").dump(2);
  EXPECT_TRUE(back) << "the node did not come back";
  auto j = s.job(s.f->status(), "trunk-slow");
  EXPECT_EQ(j["result"], "ko");
  EXPECT_EQ(j["note"], "slurm: NODE_FAIL");
}

}  // namespace
}  // namespace runbot::test
