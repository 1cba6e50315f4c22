#include "tick/reap.h"

#include <fmt/format.h>

#include "job/job_file.h"
#include "exec/process.h"
#include "status.h"

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

// Seconds a launched job may lack runner.json before it counts as never started (the runner
// also writes it itself within milliseconds of starting).
constexpr Time kSpawnGrace = 10;

// building -> building | running | done | pending (never started).
bool reap_building(const Config& config, const Paths& paths, Job& job, Time now,
                   std::vector<std::string>& warnings) {
  fs::path dir = paths.job(job.id);
  auto result = read_result(dir);
  if (!result) warnings.push_back(fmt::format("job {}: {}", job.id, result.error().message));
  auto runner_file = read_process_marker(dir / marker::kRunner);
  if (!runner_file) warnings.push_back(fmt::format("job {}: {}", job.id, runner_file.error().message));
  std::optional<ProcessMarker> runner = runner_file ? *runner_file : std::nullopt;
  bool runner_alive = runner && is_alive(runner->process);
  // The runner enforces the real timeout; this only catches a runner that cannot.
  bool overdue = now - job.started_at > config.runbot.build_timeout + 120;

  if (result && *result) {
    const ResultMarker& r = **result;
    auto instance = process_marker(dir / marker::kInstance, job.id, warnings);
    bool instance_alive = instance && is_alive(instance->process);
    if (!instance_alive && runner_alive && !overdue) return false;  // still starting it
    job.result = r.result;
    job.note = r.note;
    job.finished_at = r.finished_at ? r.finished_at : now;
    job.state = instance_alive ? JobState::running : JobState::done;
    if (instance_alive) job.instance_started_at = instance->started_at;
    return true;
  }
  if (runner_file && !*runner_file) {
    if (now - job.started_at < kSpawnGrace) return false;
    // The tick that launched it died before the runner started: launch it again.
    job.state = JobState::pending;
    job.started_at = 0;
    job.port = 0;
    job.note = "requeued: its runner never started";
    return true;
  }
  if (!runner_file && !overdue) return false;  // unreadable runner.json: cannot tell yet
  if (runner_alive && !overdue) return false;
  if (runner) kill_group(runner->process, std::chrono::seconds(2));
  kill_step(dir, job.id, warnings);
  std::string why = runner_alive ? "build timeout: runner unresponsive"
                    : result ? "runner died"
                             : "runner died (result.json unreadable)";
  finish(job, JobResult::ko, why, now);
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
    bool was_building = job.state == JobState::building;
    bool changed = was_building ? reap_building(config, paths, job, now, out.warnings)
                                : reap_running(paths, job, out.warnings);
    if (!changed) continue;
    // The build is over: keep its details in the row so status never re-reads the folder.
    if (was_building && job.state != JobState::building && job.state != JobState::pending)
      job.details = read_job_details(paths, job.id).dump();
    db.update_job(job);
    out.changed.push_back(job.id);
  }
  return out;
}

}  // namespace runbot
