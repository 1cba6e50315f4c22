#include "reap.h"

#include <fmt/format.h>

#include "job/job_file.h"
#include "process.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// A marker that exists but cannot be read counts as absent, with a warning.
std::optional<ProcessMarker> process_marker(const fs::path& file, int64_t id,
                                            std::vector<std::string>& warnings) {
  auto m = read_process_marker(file);
  if (!m) {
    warnings.push_back(fmt::format("job {}: {}", id, m.error().message));
    return std::nullopt;
  }
  return *m;
}

void kill_step(const fs::path& dir, int64_t id, std::vector<std::string>& warnings) {
  if (auto step = process_marker(dir / marker::kStepProcess, id, warnings))
    kill_group(step->process, std::chrono::seconds(2));
}

void finish(Job& job, JobResult result, std::string note, Time at) {
  job.state = JobState::done;
  job.result = result;
  job.note = std::move(note);
  job.finished_at = at;
}

// building -> building | running | done | pending (never started).
bool reap_building(const Config& config, const Paths& paths, Job& job, Time now,
                   std::vector<std::string>& warnings) {
  fs::path dir = paths.job(job.id);
  auto runner_file = read_process_marker(dir / marker::kRunner);
  if (!runner_file) warnings.push_back(fmt::format("job {}: {}", job.id, runner_file.error().message));
  std::optional<ProcessMarker> runner = runner_file ? *runner_file : std::nullopt;
  bool runner_alive = runner && is_alive(runner->process);

  auto result = read_result(dir);
  if (!result) warnings.push_back(fmt::format("job {}: {}", job.id, result.error().message));
  if (result && *result) {
    const ResultMarker& r = **result;
    auto instance = process_marker(dir / marker::kInstance, job.id, warnings);
    bool instance_alive = instance && is_alive(instance->process);
    if (!instance_alive && runner_alive) return false;  // still starting the instance
    job.result = r.result;
    job.note = r.note;
    job.finished_at = r.finished_at ? r.finished_at : now;
    if (instance_alive) {
      job.state = JobState::running;
      job.instance_started_at = instance->started_at;
    } else {
      job.state = JobState::done;
    }
    return true;
  }

  if (runner_file && !*runner_file) {
    // The tick that launched it died before recording the runner: launch it again.
    job.state = JobState::pending;
    job.started_at = 0;
    job.port = 0;
    job.note = "requeued: its runner was never started";
    return true;
  }
  if (runner_alive) {
    int limit = config.runbot.build_timeout + 120;  // the runner enforces the real timeout
    if (now - job.started_at <= limit) return false;
    kill_group(runner->process, std::chrono::seconds(2));
    kill_step(dir, job.id, warnings);
    finish(job, JobResult::ko, fmt::format("build timeout: runner unresponsive after {} s", limit), now);
    return true;
  }
  kill_step(dir, job.id, warnings);
  finish(job, JobResult::ko, "runner died", now);
  return true;
}

// running -> done when the instance is gone.
bool reap_running(const Paths& paths, Job& job, std::vector<std::string>& warnings) {
  auto instance = process_marker(paths.job(job.id) / marker::kInstance, job.id, warnings);
  if (instance && is_alive(instance->process)) return false;
  job.state = JobState::done;
  if (job.note.empty()) job.note = "instance exited";
  return true;
}

}  // namespace

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now) {
  ReapResult out;
  for (Job& job : db.jobs_in_states({JobState::building, JobState::running})) {
    bool changed = job.state == JobState::building
                       ? reap_building(config, paths, job, now, out.warnings)
                       : reap_running(paths, job, out.warnings);
    if (!changed) continue;
    db.update_job(job);
    out.changed.push_back(job.id);
  }
  return out;
}

}  // namespace runbot
