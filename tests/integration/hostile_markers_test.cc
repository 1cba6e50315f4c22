// Attacks on the markers the tick reads (SPEC "Untrusted code": "Whatever a build leaves in
// its folder, the tick stays safe"). With kind = "none" a build can write its own job folder,
// so the test writes there what a hostile step or instance would: a FIFO, a link to
// /dev/zero, a 2 MiB file, markers naming pid 1, 0, -1, a process or cgroups the runbot never
// started. Every tick must still finish (a hung one is killed by `timeout` and fails the
// test), the job ends ko ("bad marker <name>") when the marker is not a small regular JSON
// file, and the canary (a process of the test, in the group of the runbot's own commands)
// is never signalled: the runbot runs in a PID jail, so that even kill(-1) only hits the jail.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

enum class Forgery { fifo, dev_zero, big, pid1, pid0, pid_minus1, canary, cgroup, cgroup_parent };

struct Case {
  const char* marker;  // instance.json (a running instance), runner.json or step.json (a build)
  Forgery forgery;
  const char* name;
};

// Not a small regular file: the job must end ko, "bad marker <name>".
bool not_a_file(Forgery f) {
  return f == Forgery::fifo || f == Forgery::dev_zero || f == Forgery::big;
}
// A regular file that names no process the runbot could have started: the job must end (ko
// "bad marker", or the runner's own verdict: the marker counts as absent).
bool impossible(Forgery f) {
  return f == Forgery::pid1 || f == Forgery::pid0 || f == Forgery::pid_minus1;
}

// Cgroups of the test holding the canary, named like a runbot job's ("<x>/openerp-runbot/
// job-<word>") under a folder of the test's own, so that a runbot that kills a forged cgroup
// (or its parent: ".../job-<word>/..") can only hit the canary. Removed at the end.
struct CanaryCgroups {
  std::vector<fs::path> jobs;  // one per hierarchy: v2 (unified) and v1 pids
  std::vector<fs::path> roots;
  bool v2 = false;

  CanaryCgroups(const std::string& word, pid_t canary) {
    for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/cgroup/pids"}) {
      if (!fs::exists(fs::path(root) / "cgroup.procs")) continue;
      bool is_v2 = fs::exists(fs::path(root) / "cgroup.controllers");
      if (is_v2 && v2) continue;  // one v2 hierarchy
      fs::path job = fs::path(root) / word / "openerp-runbot" / ("job-" + word);
      std::error_code ec;
      fs::create_directories(job, ec);
      if (ec) continue;
      std::ofstream(job / "cgroup.procs") << canary << "\n";
      jobs.push_back(job);
      roots.push_back(root);
      v2 |= is_v2;
    }
  }
  ~CanaryCgroups() {
    for (size_t i = 0; i < jobs.size(); ++i) {
      for (const auto& pid : processes_in(jobs[i])) std::ofstream(roots[i] / "cgroup.procs") << pid;
      for (fs::path d = jobs[i]; d != roots[i]; d = d.parent_path()) rmdir(d.c_str());
    }
  }
  static std::vector<std::string> processes_in(const fs::path& dir) {
    std::vector<std::string> out;
    std::istringstream in(read_text(dir / "cgroup.procs"));
    for (std::string pid; in >> pid;) out.push_back(pid);
    return out;
  }
};

// Replaces `file` as a build would (temp file + rename, so the runbot's reader sees it whole).
void forge(const fs::path& file, Forgery f, const PidJail& jail, const Canary& canary,
           const CanaryCgroups* groups) {
  const fs::path tmp = file.string() + ".forged";
  json doc = json::parse(read_text(file), nullptr, false);
  if (doc.is_discarded()) doc = {{"version", 1}, {"started_at", 0}, {"port", 0}};
  auto pid = [&](int64_t p, uint64_t start) {
    doc["pid"] = p;
    doc["start_time"] = start;
  };
  std::error_code ec;
  switch (f) {
    case Forgery::fifo:
      fs::remove(file, ec);
      ASSERT_EQ(mkfifo(file.c_str(), 0644), 0);
      return;
    case Forgery::dev_zero:
      fs::create_symlink("/dev/zero", tmp);
      fs::rename(tmp, file);
      return;
    case Forgery::big:
      write_text(tmp, std::string(2 << 20, ' ') + doc.dump());
      fs::rename(tmp, file);
      return;
    case Forgery::pid1:
      pid(1, start_time_of(jail.init()));
      break;  // the jail's init
    case Forgery::pid0:
      pid(0, 0);
      break;
    case Forgery::pid_minus1:
      pid(-1, 0);
      break;
    case Forgery::canary:
      pid(canary.inner_pid(), canary.start_time());
      break;
    case Forgery::cgroup:
    case Forgery::cgroup_parent: {
      json dirs = json::array();
      for (const auto& d : groups->jobs)
        dirs.push_back(f == Forgery::cgroup ? d.string() : d.string() + "/..");
      doc["cgroups"] = dirs;
      doc["limits"] = groups->v2 ? "cgroup v2" : "cgroup v1";
      break;
    }
  }
  write_text(tmp, doc.dump());
  fs::rename(tmp, file);
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class HostileMarkers : public ::testing::TestWithParam<Case> {};

TEST_P(HostileMarkers, TickSurvivesAndSignalsNothingItDidNotStart) {
  const Case c = GetParam();
  PidJail jail;
  if (!jail.ok()) GTEST_SKIP() << "the PID jail needs root (unshare, nsenter)";
  Canary canary(jail.prefix());
  ASSERT_TRUE(canary.alive());
  std::optional<CanaryCgroups> groups;
  if (c.forgery == Forgery::cgroup || c.forgery == Forgery::cgroup_parent) {
    groups.emplace(unique_word("cg"), canary.pid());
    if (groups->jobs.empty()) GTEST_SKIP() << "no writable cgroup hierarchy for the canary";
  }

  const bool instance = std::string(c.marker) == "instance.json";
  const std::string sleeper = unique_sleep();
  Survivors cleanup(sleep_arg(sleeper), false);
  Family f("",
           instance ? fmt::format("steps = [{{ name = \"test\", run = \"true\" }}]\n"
                                  "run = \"exec {}\"",
                                  sleeper)
                    : fmt::format("steps = [{{ name = \"test\", run = \"exec {}\" }}]", sleeper),
           "[sandbox]\nkind = \"none\"\n");
  only_trunk(f);
  auto prefix = jail.prefix();
  for (const auto& p : canary.join_group()) prefix.push_back(p);
  for (const char* p : {"timeout", "--foreground", "-k", "2", "15"}) prefix.push_back(p);
  f.launch.prefix = prefix;

  const fs::path marker = f.state / "jobs" / "1" / c.marker;
  if (instance)
    ASSERT_TRUE(f.settle(30));
  else
    ASSERT_EQ(f.tick().status, 0);
  ASSERT_TRUE(wait_for_file(marker)) << f.status().dump(2);
  ASSERT_TRUE(wait_for_file(f.state / "jobs" / "1" / "runner.json"));
  const bool step = std::string(c.marker) == "step.json";
  forge(marker, c.forgery, jail, canary, groups ? &*groups : nullptr);
  // step.json only matters once its runner is gone: the build kills it (it can, unconfined).
  // Found by command line: the pids in markers are the jail's, not ours.
  if (step)
    for (int pid : processes_with(f.state.string()))
      if (read_text(fmt::format("/proc/{}/cmdline", pid)).find("job-run") != std::string::npos)
        kill(pid, SIGKILL);

  // Ticks finish; a malformed marker makes the job ko.
  json job;
  const bool must_end = not_a_file(c.forgery) || impossible(c.forgery);
  for (int i = 0; i < (must_end ? 25 : 3); ++i) {
    Cmd t = f.tick();
    ASSERT_EQ(t.status, 0) << "tick " << i << " after the forgery: " << t.out << t.err;
    job = newest_job(f, "trunk");
    if (job["state"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  if (must_end) {
    EXPECT_EQ(job["state"], "done") << job.dump(2);
  }
  const std::string note = job["note"].is_string() ? job["note"].get<std::string>() : "";
  if (not_a_file(c.forgery)) {
    EXPECT_EQ(job["result"], "ko") << job.dump(2);
    EXPECT_TRUE(note.find(fmt::format("bad marker {}", c.marker)) != std::string::npos ||
                (step && note.find("runner died") != std::string::npos))
        << job.dump(2);
  }
  // Stopping the job, then everything, signals only what the runbot started.
  Cmd k = f.command({"kill", "1"});
  EXPECT_LT(k.status, 2) << k.out << k.err;
  Cmd clean = f.command({"clean"});
  EXPECT_LT(clean.status, 2) << clean.out << clean.err;  // 1: "did not stop" what it cannot prove
  EXPECT_TRUE(canary.alive()) << "the runbot signalled a process it never started";
  EXPECT_EQ(jail.init_signals(), "") << "the runbot signalled pid 1";
}

INSTANTIATE_TEST_SUITE_P(
    Forged, HostileMarkers,
    ::testing::Values(Case{"instance.json", Forgery::fifo, "InstanceFifo"},
                      Case{"instance.json", Forgery::dev_zero, "InstanceLinkToDevZero"},
                      Case{"instance.json", Forgery::big, "InstanceOf2MiB"},
                      Case{"instance.json", Forgery::pid1, "InstancePid1"},
                      Case{"instance.json", Forgery::pid0, "InstancePid0"},
                      Case{"instance.json", Forgery::pid_minus1, "InstancePidMinus1"},
                      Case{"instance.json", Forgery::canary, "InstanceNamingTheRunbotsGroup"},
                      Case{"instance.json", Forgery::cgroup, "InstanceNamingForeignCgroups"},
                      Case{"instance.json", Forgery::cgroup_parent, "InstanceNamingACgroupParent"},
                      Case{"runner.json", Forgery::fifo, "RunnerFifo"},
                      Case{"runner.json", Forgery::pid1, "RunnerPid1"},
                      Case{"step.json", Forgery::big, "StepOf2MiB"},
                      Case{"step.json", Forgery::pid0, "StepPid0"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// The same attack from a confined (bwrap) instance: its markers are out of its reach, by the
// path it is given and by the real one.
TEST(HostileMarkersConfined, InstanceCannotReachItsMarkers) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  Family f(
      "",
      "steps = [{ name = \"test\", run = \"true\" }]\nrun = 'exec sh \"$RUNBOT_SRC_SERVER/i.sh\"'");
  only_trunk(f);
  f.launch.prefix = {"timeout", "-k", "2", "15"};
  commit_script(f, "trunk", "i.sh",
                fmt::format(R"sh(for J in "$RUNBOT_JOB_DIR" '{0}/jobs/1'; do
  for m in instance.json runner.json step.json result.json; do
    rm -f "$J/$m" 2>/dev/null; mkfifo "$J/$m" 2>/dev/null && echo "FORGED $J/$m"
  done
done > "$RUNBOT_SRC/tried"
exec {1}
)sh",
                            f.state.string(), sleeper));
  ASSERT_TRUE(f.settle(30));
  const fs::path dir = f.state / "jobs" / "1";
  ASSERT_TRUE(wait_for_file(dir / "src" / "tried"));
  for (int i = 0; i < 3; ++i) {
    Cmd t = f.tick();
    ASSERT_EQ(t.status, 0) << t.out << t.err;
  }
  // What it made in its own view of the job folder (a scratch of the sandbox) is no marker.
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["state"], "running") << job.dump(2);
  EXPECT_EQ(job["result"], "ok") << job.dump(2);
  for (const char* m : {"instance.json", "runner.json", "result.json"})
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir / m)))
        << m << " was replaced:\n"
        << read_text(dir / "src" / "tried");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "step.json")) &&
               !fs::is_regular_file(fs::symlink_status(dir / "step.json")));
}

}  // namespace
}  // namespace runbot::test
