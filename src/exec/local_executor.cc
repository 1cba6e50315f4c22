#include "exec/local_executor.h"

#include <fmt/format.h>

#include "exec/process.h"
#include "job/job_file.h"
#include "job/runner.h"
#include "util/failpoint.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// A marker that exists but cannot be read counts as absent, with a warning; a bad one (not a
// small regular file) is also noted in `bad`.
std::optional<ProcessMarker> process_marker(const fs::path& file, int64_t id,
                                            std::vector<std::string>& warnings,
                                            std::string* bad = nullptr) {
  auto m = read_process_marker(file);
  if (!m) {
    warnings.push_back(fmt::format("job {}: {}", id, m.error().message));
    if (bad && bad->empty() && is_bad_marker(m.error())) *bad = bad_marker_note(m.error());
    return std::nullopt;
  }
  return *m;
}

}  // namespace

LocalExecutor::LocalExecutor(Paths paths) : paths_(std::move(paths)), host_(local_host_name()) {}

Result<Started> LocalExecutor::start(const Job& job) {
  fs::path dir = paths_.job(job.id);
  auto runner = spawn_detached(
      {self_exe().string(), "--dir", paths_.root.string(), "job-run", std::to_string(job.id)},
      dir / marker::kRunnerLog, RunOptions::in(dir));
  if (!runner) return runner.error();
  failpoint("launch.after-spawn");
  ProcessMarker m;
  m.process = *runner;
  m.started_at = job.started_at;
  if (auto st = write_process_marker(dir / marker::kRunner, m); !st) return st.error();
  return Started{"", host_};
}

std::map<int64_t, ProbeResult> LocalExecutor::probe(const std::vector<Job>& jobs) {
  std::map<int64_t, ProbeResult> out;
  for (const Job& job : jobs) {
    ProbeResult& p = out[job.id];
    fs::path dir = paths_.job(job.id);
    p.host = job.host;
    if (job.state == JobState::building) {
      auto runner = read_process_marker(dir / marker::kRunner);
      if (!runner) {
        p.warnings.push_back(fmt::format("job {}: {}", job.id, runner.error().message));
        if (p.bad_marker.empty() && is_bad_marker(runner.error()))
          p.bad_marker = bad_marker_note(runner.error());
        p.runner = MarkerState::unreadable;
      } else if (*runner) {
        p.runner = MarkerState::present;
        p.runner_alive = is_alive((*runner)->process);
      }
    }
    // Absent until the runner started it (instance.json is written before result.json).
    auto instance = read_process_marker(dir / marker::kInstance);
    if (!instance) {
      p.warnings.push_back(fmt::format("job {}: {}", job.id, instance.error().message));
      if (p.bad_marker.empty() && is_bad_marker(instance.error()))
        p.bad_marker = bad_marker_note(instance.error());
    } else if (*instance) {
      p.instance_alive = marked_alive(**instance);
      p.instance_started_at = (*instance)->started_at;
    }
  }
  return out;
}

bool LocalExecutor::stop_build(const Job& job, std::chrono::milliseconds grace) {
  bool gone = true;
  std::vector<std::string> ignored;
  for (const char* name : {marker::kRunner, marker::kStepProcess})
    if (auto m = process_marker(paths_.job(job.id) / name, job.id, ignored))
      gone = stop_marked(*m, grace) && gone;
  return gone;
}

bool LocalExecutor::stop_instance(const Job& job) {
  std::vector<std::string> ignored;
  if (auto m = process_marker(paths_.job(job.id) / marker::kInstance, job.id, ignored))
    return stop_marked(*m);
  return true;
}

Result<Started> LocalExecutor::wake(const Job& job, int port, const std::string& url,
                                    Time* instance_started_at) {
  auto instance = start_instance(paths_, job.id, port, url);
  if (!instance) return instance.error();
  if (instance_started_at) *instance_started_at = instance->started_at;
  return Started{"", host_};
}

std::string LocalExecutor::instance_address(const Job& job) const {
  return fmt::format("127.0.0.1:{}", job.port);
}

}  // namespace runbot
