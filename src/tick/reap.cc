#include "tick/reap.h"

#include <fmt/format.h>

#include "exec/process.h"
#include "job/details.h"
#include "tick/build_errors.h"
#include "job/lifecycle.h"

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

// Stops what a failed build may have left: its runner's and its current step's groups.
void stop_build(const Paths& paths, int64_t id, std::vector<std::string>& warnings) {
  fs::path dir = paths.job(id);
  for (const char* name : {marker::kRunner, marker::kStepProcess})
    if (auto m = process_marker(dir / name, id, warnings))
      stop_marked(*m, std::chrono::seconds(2));
}

// running -> done when the instance is gone.
bool reap_running(const Paths& paths, Job& job, std::vector<std::string>& warnings) {
  std::string bad;
  auto instance =
      process_marker(paths.job(job.id) / marker::kInstance, job.id, warnings, &bad);
  if (instance && marked_alive(*instance)) return false;
  if (instance) stop_marked(*instance, std::chrono::seconds(1));  // its namespace and cgroups
  if (!bad.empty()) {
    finish(job, JobEnd{JobResult::ko, bad, 0, ""});
    return true;
  }
  finish(job, JobEnd{std::nullopt, job.note.empty() ? "instance exited" : job.note, 0, ""});
  return true;
}

}  // namespace

BuildOutcome judge_build(const Job& job, const BuildProbe& p, Time now, int build_timeout) {
  using Kind = BuildOutcome::Kind;
  using Marker = BuildProbe::Marker;
  bool overdue = now - job.started_at > build_timeout + kTimeoutSlack;
  if (!p.bad_marker.empty()) return {Kind::failed, p.bad_marker};
  if (p.result_marker) {
    if (p.instance_alive) return {Kind::running, ""};
    if (p.runner_alive && !overdue) return {Kind::building, ""};  // still starting it
    return {Kind::finished, ""};
  }
  if (p.runner == Marker::absent) {
    if (now - job.started_at < kSpawnGrace) return {Kind::building, ""};
    return {Kind::requeued, "requeued: its runner never started"};
  }
  if (p.runner == Marker::unreadable && !overdue) return {Kind::building, ""};  // cannot tell yet
  if (p.runner_alive && !overdue) return {Kind::building, ""};
  if (p.runner_alive) return {Kind::failed, "build timeout: runner unresponsive"};
  if (p.result == Marker::unreadable) return {Kind::failed, "runner died (result.json unreadable)"};
  return {Kind::failed, "runner died"};
}

BuildProbe probe_build(const Paths& paths, int64_t id, std::vector<std::string>& warnings) {
  using Marker = BuildProbe::Marker;
  fs::path dir = paths.job(id);
  BuildProbe p;
  auto note_bad = [&](const Error& e) {
    if (p.bad_marker.empty() && is_bad_marker(e)) p.bad_marker = bad_marker_note(e);
  };
  auto result = read_result(dir);
  if (!result) {
    warnings.push_back(fmt::format("job {}: {}", id, result.error().message));
    note_bad(result.error());
    p.result = Marker::unreadable;
  } else if (*result) {
    p.result = Marker::present;
    p.result_marker = **result;
  }
  auto runner = read_process_marker(dir / marker::kRunner);
  if (!runner) {
    warnings.push_back(fmt::format("job {}: {}", id, runner.error().message));
    note_bad(runner.error());
    p.runner = Marker::unreadable;
  } else if (*runner) {
    p.runner = Marker::present;
    p.runner_alive = is_alive((*runner)->process);
  }
  if (auto step = read_process_marker(dir / marker::kStepProcess); !step) note_bad(step.error());
  if (p.result_marker) {
    if (auto instance = process_marker(dir / marker::kInstance, id, warnings, &p.bad_marker)) {
      p.instance_alive = marked_alive(*instance);
      p.instance_started_at = instance->started_at;
    }
  }
  return p;
}

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now) {
  using Kind = BuildOutcome::Kind;
  ReapResult out;
  for (Job& job : db.jobs_in_states({JobState::building, JobState::running})) {
    if (job.state == JobState::running) {
      if (!reap_running(paths, job, out.warnings)) continue;
    } else {
      BuildProbe probe = probe_build(paths, job.id, out.warnings);
      BuildOutcome outcome = judge_build(job, probe, now, config.runbot.build_timeout);
      // The build is over: its details go into the row so status never re-reads the folder.
      switch (outcome.kind) {
        case Kind::building:
          continue;
        case Kind::requeued:
          requeue(job, outcome.note);
          break;
        case Kind::running:
          start_running(job, *probe.result_marker, probe.instance_started_at, now,
                        read_job_details(paths, job.id).dump());
          break;
        case Kind::finished:
          finish_build(job, *probe.result_marker, now, read_job_details(paths, job.id).dump());
          break;
        case Kind::failed:
          stop_build(paths, job.id, out.warnings);
          finish(job,
                 JobEnd{JobResult::ko, outcome.note, now, read_job_details(paths, job.id).dump()});
          break;
      }
      record_build_errors(paths, db, job, out.changed, out.warnings);
    }
    db.update_job(job);
    out.changed.push_back(job.id);
  }
  return out;
}

}  // namespace runbot
