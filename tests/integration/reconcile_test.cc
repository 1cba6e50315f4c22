// Reality against the DB (SPEC "Site and nginx", the reconciliation bullet; issue 14): what a
// crash, a lost WAL tail or a deleted runbot.db leaves behind is put right by the next ticks.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "exec/process.h"
#include "hostile.h"
#include "job/job_file.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

std::set<int64_t> ids_of(const nlohmann::json& status) {
  std::set<int64_t> ids;
  for (const auto& j : status["jobs"]) ids.insert(j["id"].get<int64_t>());
  return ids;
}

// The pid a process marker of job `id` names (0 when absent).
// The process a marker of job `id` names (pid and start time: the suite starts so many
// processes that pids wrap around, and a bare pid from an old marker may name another test's
// process); pid 0 without one.
ProcessId marker_pid(const Family& f, int64_t id, const char* marker) {
  auto m = read_process_marker(f.state / "jobs" / std::to_string(id) / marker);
  return m && *m ? (**m).process : ProcessId{};
}

// True once `p` has ended (exited, a zombie, or its pid names another process now).
bool gone(const ProcessId& p) {
  for (int i = 0; i < 100; ++i) {
    if (!is_alive(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(Reconcile, JobIdsOfALostTransactionAreNeverHandedOutAgain) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper), false);
  Family f("", "steps = [{ name = \"test\", run = \"" + sleeper + "\" }]");
  // The DB as it was before the tick below (init closed it: no WAL).
  fs::copy_file(f.state / "runbot.db", f.tmp / "before.db");
  Cmd first = f.tick();
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  std::set<int64_t> launched = ids_of(f.status());
  ASSERT_FALSE(launched.empty());
  for (int64_t id : launched) ASSERT_TRUE(fs::exists(f.state / "jobs" / std::to_string(id)));
  const std::string job_json =
      read_text(f.state / "jobs" / std::to_string(*launched.begin()) / "job.json");
  std::vector<ProcessId> runners;
  for (int64_t id : launched) runners.push_back(marker_pid(f, id, "runner.json"));

  // The WAL tail is lost: the DB no longer knows the jobs whose runners are building.
  for (const char* wal : {"runbot.db-wal", "runbot.db-shm"}) fs::remove(f.state / wal);
  fs::copy_file(f.tmp / "before.db", f.state / "runbot.db", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(f.status()["jobs"].empty());

  Cmd again = f.tick();
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  std::set<int64_t> now = ids_of(f.status());
  ASSERT_FALSE(now.empty());
  for (int64_t id : now)
    EXPECT_EQ(launched.count(id), 0u) << "job id " << id << " handed out twice\n" << again.out;
  EXPECT_GT(*now.begin(), *launched.rbegin());
  EXPECT_EQ(f.command({"build", "trunk"}).status, 0);
  for (int64_t id : ids_of(f.status())) EXPECT_EQ(launched.count(id), 0u) << id;
  // The first runner's folder was never given to another job; the runners the DB forgot
  // were stopped (reconcile), not left building beside the new ones.
  auto still = f.state / "jobs" / std::to_string(*launched.begin()) / "job.json";
  if (fs::exists(still)) {
    EXPECT_EQ(read_text(still), job_json);
  }
  for (const ProcessId& p : runners)
    EXPECT_TRUE(p.pid > 0 && gone(p)) << "forgotten runner " << p.pid;
}

// The lost transaction was the one that moved a pending job to building: its runner is alive
// while the DB says pending, and the next launch would start a second runner in its folder.
TEST(Reconcile, LostLaunchNeverLeavesTwoRunnersInOneFolder) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper), false);
  Family f("", "steps = [{ name = \"test\", run = \"" + sleeper + "\" }]");
  only_trunk(f);
  ASSERT_EQ(f.command({"build", "trunk"}).status, 0);  // job 1, pending
  fs::copy_file(f.state / "runbot.db", f.tmp / "pending.db");
  ASSERT_EQ(f.tick().status, 0);
  const ProcessId first = marker_pid(f, 1, "runner.json");
  ASSERT_GT(first.pid, 0);
  for (const char* wal : {"runbot.db-wal", "runbot.db-shm"}) fs::remove(f.state / wal);
  fs::copy_file(f.tmp / "pending.db", f.state / "runbot.db", fs::copy_options::overwrite_existing);

  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.out << t.err;
  EXPECT_TRUE(gone(first)) << "the runner of the lost launch still runs beside the new one\n"
                           << t.out;
  const ProcessId second = marker_pid(f, 1, "runner.json");
  EXPECT_GT(second.pid, 0);
  EXPECT_NE(second.pid, first.pid);
}

void remove_db(const Family& f) {
  for (const char* file : {"runbot.db", "runbot.db-wal", "runbot.db-shm"})
    fs::remove(f.state / file);
}

TEST(Reconcile, DeletedRunbotDbStopsTheForgottenInstancesAndTheirFolders) {
  Family f("",
           "steps = [{ name = \"test\", run = \"true\" }]\n"
           "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"");
  ASSERT_TRUE(f.settle(60));
  std::map<int64_t, ProcessId> instances;  // job -> its instance
  const nlohmann::json settled = f.status();
  for (const auto& j : settled["jobs"]) {
    ASSERT_EQ(j["state"], "running") << j.dump(2);
    int64_t id = j["id"].get<int64_t>();
    instances[id] = marker_pid(f, id, "instance.json");
    ASSERT_GT(instances[id].pid, 0);
  }
  ASSERT_FALSE(instances.empty());

  remove_db(f);  // the documented reset
  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.out << t.err;
  for (const auto& [id, pid] : instances) {
    EXPECT_NE(t.out.find(fmt::format("reconcile: job {} (no such job in runbot.db): stopped its "
                                     "instance",
                                     id)),
              std::string::npos)
        << t.out << t.err;
    EXPECT_TRUE(gone(pid)) << "the instance of forgotten job " << id << " still runs";
    EXPECT_FALSE(fs::exists(f.state / "jobs" / std::to_string(id)));
  }
  // The new jobs have new ids, and only they are served.
  for (int64_t id : ids_of(f.status())) EXPECT_EQ(instances.count(id), 0u);
  std::string conf = read_text(f.state / "nginx" / "runbot.conf");
  for (const auto& [id, pid] : instances)
    EXPECT_EQ(conf.find(fmt::format("server_name \"{}.", id)), std::string::npos) << conf;
}

// `clean` after the documented reset: it removes jobs/, where the only record of the forgotten
// jobs' processes is; they must be stopped first, not left running for good.
TEST(Reconcile, CleanAfterDeletedRunbotDbStopsTheForgottenInstances) {
  Family f("",
           "steps = [{ name = \"test\", run = \"true\" }]\n"
           "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"");
  ASSERT_TRUE(f.settle(60));
  std::vector<ProcessId> instances;
  for (int64_t id : ids_of(f.status())) instances.push_back(marker_pid(f, id, "instance.json"));
  ASSERT_FALSE(instances.empty());
  remove_db(f);
  Cmd c = f.command({"clean"});
  EXPECT_EQ(c.status, 0) << c.out << c.err;
  for (const ProcessId& p : instances)
    EXPECT_TRUE(p.pid > 0 && gone(p)) << "instance " << p.pid << " left";
}

// Kills everything of job `id` (as a power cut would): its runner, step and instance groups.
void kill_job(const Family& f, int64_t id) {
  for (const char* m : {"runner.json", "step.json", "instance.json"})
    if (ProcessId p = marker_pid(f, id, m); p.pid > 0 && is_alive(p)) {
      ::kill(-p.pid, SIGKILL);
      ::kill(p.pid, SIGKILL);
    }
  for (const char* m : {"runner.json", "step.json", "instance.json"})
    if (ProcessId p = marker_pid(f, id, m); p.pid > 0) {
      EXPECT_TRUE(gone(p)) << m;
    }
}

nlohmann::json job_with_id(const Family& f, int64_t id) {
  const nlohmann::json all = f.status_all();
  for (const auto& j : all["jobs"])
    if (j["id"] == id) return j;
  return nullptr;
}

TEST(Reconcile, BuildKilledByAMachineRestartIsRetriedOnceWithANote) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper), false);
  Family f("workers = 1", "steps = [{ name = \"test\", run = \"" + sleeper + "\" }]",
           "[sandbox]\nkind = \"none\"\n");
  only_trunk(f);
  ASSERT_EQ(f.tick().status, 0);
  const int64_t id = jobs_of(f.status(), "trunk").front()["id"].get<int64_t>();
  ASSERT_TRUE(wait_for_file(f.state / "jobs" / std::to_string(id) / "step.json"));

  // A restart: everything of the job dies, and the next tick runs in another boot.
  kill_job(f, id);
  write_text(f.tmp / "boot1", "00000000-0000-0000-0000-000000000001\n");
  Launch rebooted = f.launch;
  rebooted.env["RUNBOT_BOOT_ID_FILE"] = (f.tmp / "boot1").string();
  Cmd t = rebooted.runbot(f.state, {"tick"});
  ASSERT_EQ(t.status, 0) << t.out << t.err;
  EXPECT_NE(t.out.find(fmt::format("job {}: its runner died with the machine", id)),
            std::string::npos)
      << t.out << t.err;
  auto job = job_with_id(f, id);
  EXPECT_EQ(job["note"], "retried after reboot") << job.dump(2);
  EXPECT_EQ(job["result"], nullptr) << job.dump(2);
  EXPECT_EQ(job["state"], "building") << "started again by the same tick\n" << job.dump(2);

  // A second restart kills it again: now it is ko, as a runner that died.
  ASSERT_TRUE(wait_for_file(f.state / "jobs" / std::to_string(id) / "step.json"));
  kill_job(f, id);
  write_text(f.tmp / "boot2", "00000000-0000-0000-0000-000000000002\n");
  rebooted.env["RUNBOT_BOOT_ID_FILE"] = (f.tmp / "boot2").string();
  Cmd t2 = rebooted.runbot(f.state, {"tick"});
  ASSERT_EQ(t2.status, 0) << t2.out << t2.err;
  job = job_with_id(f, id);
  EXPECT_EQ(job["result"], "ko") << job.dump(2);
  EXPECT_EQ(job["note"], "runner died") << job.dump(2);
}

TEST(Reconcile, AfterARestartTheNewestJobOfEachBaseBranchGetsItsInstanceBack) {
  Family f("",
           "steps = [{ name = \"test\", run = \"true\" }]\n"
           "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"",
           "[sandbox]\nkind = \"none\"\n");
  ASSERT_TRUE(f.settle(60));
  std::vector<int64_t> ids;
  const nlohmann::json settled = f.status();
  for (const auto& j : settled["jobs"]) {
    ASSERT_EQ(j["state"], "running") << j.dump(2);
    ids.push_back(j["id"].get<int64_t>());
  }
  ASSERT_EQ(ids.size(), 2u);  // trunk and 6.0, both base branches
  for (int64_t id : ids) kill_job(f, id);
  write_text(f.tmp / "boot1", "00000000-0000-0000-0000-000000000001\n");
  Launch rebooted = f.launch;
  rebooted.env["RUNBOT_BOOT_ID_FILE"] = (f.tmp / "boot1").string();
  Cmd t = rebooted.runbot(f.state, {"tick"});
  ASSERT_EQ(t.status, 0) << t.out << t.err;
  for (int64_t id : ids) {
    auto job = job_with_id(f, id);
    EXPECT_EQ(job["state"], "running") << t.out << job.dump(2);
    EXPECT_EQ(job["note"], "instance restarted after reboot") << job.dump(2);
    ASSERT_TRUE(job["port"].is_number()) << job.dump(2);
    std::string code;
    for (int i = 0; i < 100 && code != "200"; ++i) {
      code = run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                  fmt::format("http://127.0.0.1:{}/", job["port"].get<int>())})
                 .out;
      if (code != "200") std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(code, "200") << "the instance of job " << id << " is not back";
  }
}

}  // namespace
}  // namespace runbot::test
