#include "support/slurm.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace runbot::test {

namespace fs = std::filesystem;

namespace {

fs::path script() { return fs::path(RUNBOT_TEST_SCRIPTS) / "slurm-cluster"; }

std::unique_ptr<SlurmCluster>& instance() {
  static std::unique_ptr<SlurmCluster> cluster;
  return cluster;
}

}  // namespace

SlurmCluster* SlurmCluster::shared(std::string* why) {
  static std::string failure;
  static bool tried = false;
  if (!tried) {
    tried = true;
    std::unique_ptr<SlurmCluster> c(new SlurmCluster());
    if (c->start(&failure)) {
      instance() = std::move(c);
      std::atexit([] { instance().reset(); });
    }
  }
  if (!instance()) *why = failure;
  return instance().get();
}

bool SlurmCluster::start(std::string* why) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = (base && *base ? fs::path(base) : fs::path("/tmp")) / "runbot-slurm-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    *why = "mkdtemp failed";
    return false;
  }
  dir_ = tmpl;
  Cmd c = run({script().string(), "start", dir_.string()});
  if (c.status != 0) {
    *why = script().string() + " start exited " + std::to_string(c.status) + ": " + c.err;
    run({script().string(), "stop", dir_.string()});
    return false;
  }
  running_ = true;
  return true;
}

void SlurmCluster::stop() {
  if (!running_) return;
  running_ = false;
  run({script().string(), "stop", dir_.string()});
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

SlurmCluster::~SlurmCluster() { stop(); }

Cmd SlurmCluster::client(const std::vector<std::string>& argv) const {
  return run(argv, {}, env());
}

bool SlurmCluster::kill_slurmd() {
  std::string pid_text = read_text(dir_ / "run" / "slurmd.pid");
  pid_t pid = static_cast<pid_t>(std::atoi(pid_text.c_str()));
  if (pid <= 1 || ::kill(pid, SIGKILL) != 0) return false;
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return ::kill(pid, 0) != 0;
}

bool SlurmCluster::restart_slurmd() {
  Cmd started = run({"slurmd", "-N", "localhost", "-f", conf().string()}, {}, env());
  if (started.status != 0) return false;
  // Bounded: the controller takes the node back once slurmd registers (ReturnToService=2).
  for (int i = 0; i < 600; ++i) {
    Cmd s = client({"sinfo", "-h", "-o", "%t"});
    if (s.status == 0 && (s.out == "idle\n" || s.out == "mix\n" || s.out == "alloc\n")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace runbot::test
