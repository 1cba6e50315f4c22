#include "tick/reap.h"

#include <fmt/format.h>

#include "job/details.h"
#include "job/lifecycle.h"
#include "tick/build_errors.h"

namespace runbot {

namespace fs = std::filesystem;

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
  // Waiting in the executor's queue is not building: the build timeout has not started.
  if (p.queued) return {Kind::building, p.queue_note};
  if (!p.ended.empty()) return {Kind::failed, p.ended};
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

RunningOutcome judge_running(const Job& job, const ProbeResult& p) {
  if (p.instance_alive && p.bad_marker.empty()) return {};
  if (!p.bad_marker.empty()) return {true, JobResult::ko, p.bad_marker};
  if (!job.note.empty()) return {true, std::nullopt, job.note};
  return {true, std::nullopt, p.ended.empty() ? "instance exited" : "instance ended: " + p.ended};
}

BuildProbe probe_build(const Paths& paths, int64_t id, const ProbeResult& probe,
                       std::vector<std::string>& warnings) {
  using Marker = BuildProbe::Marker;
  fs::path dir = paths.job(id);
  BuildProbe p;
  p.runner = probe.runner;
  p.runner_alive = probe.runner_alive;
  p.queued = probe.queued;
  p.queue_note = probe.queue_note;
  p.ended = probe.ended;
  p.bad_marker = probe.bad_marker;
  warnings.insert(warnings.end(), probe.warnings.begin(), probe.warnings.end());
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
  if (auto step = read_process_marker(dir / marker::kStepProcess); !step) note_bad(step.error());
  if (p.result_marker) {
    p.instance_alive = probe.instance_alive;
    p.instance_started_at = probe.instance_started_at;
  }
  return p;
}

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now) {
  Executors executors(config, paths);
  return reap(config, paths, db, now, executors);
}

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now, Executors& executors) {
  using Kind = BuildOutcome::Kind;
  ReapResult out;
  std::vector<Job> active = db.jobs_in_states({JobState::building, JobState::running});
  // One probe per executor kind, for all of its jobs (Slurm: one squeue per tick).
  std::map<std::string, std::vector<Job>> by_kind;
  for (const Job& j : active) by_kind[j.executor].push_back(j);
  std::map<int64_t, ProbeResult> probes;
  for (auto& [kind, jobs] : by_kind) {
    Executor* e = executors.of(kind);
    if (!e) {
      out.warnings.push_back(fmt::format("jobs of executor \"{}\": unknown to this binary", kind));
      continue;
    }
    probes.merge(e->probe(jobs));
  }
  for (Job& job : active) {
    auto found = probes.find(job.id);
    if (found == probes.end()) continue;
    const ProbeResult& probe = found->second;
    Executor& executor = *executors.of(job.executor);
    // What the executor found out (a Slurm id recovered by name, the node it runs on).
    bool found_out = false;
    if (!probe.id.empty() && probe.id != job.executor_id)
      job.executor_id = probe.id, found_out = true;
    if (!probe.host.empty() && probe.host != job.host) job.host = probe.host, found_out = true;
    if (job.state == JobState::running) {
      RunningOutcome o = judge_running(job, probe);
      if (!o.done) {
        if (found_out) db.update_job(job);
        continue;
      }
      executor.stop_instance(job);  // what is left of it: its namespace and cgroups
      finish(job, JobEnd{o.result, o.note, 0, ""});
    } else {
      BuildProbe p = probe_build(paths, job.id, probe, out.warnings);
      BuildOutcome outcome = judge_build(job, p, now, config.runbot.build_timeout);
      // The build is over: its details go into the row so status never re-reads the folder.
      switch (outcome.kind) {
        case Kind::building:
          // "queued in slurm" while queued, and no longer once it runs.
          if (outcome.note.empty() ? job.note.rfind(kQueuedPrefix, 0) == 0
                                   : outcome.note != job.note) {
            job.note = outcome.note;
            found_out = true;
          }
          if (found_out) db.update_job(job);
          continue;
        case Kind::requeued:
          requeue(job, outcome.note);
          break;
        case Kind::running:
          // Where it listens: the node may have moved it off a port taken there.
          if (probe.instance_port > 0) job.port = probe.instance_port;
          start_running(job, *p.result_marker, p.instance_started_at, now,
                        read_job_details(paths, job.id).dump());
          break;
        case Kind::finished:
          finish_build(job, *p.result_marker, now, read_job_details(paths, job.id).dump());
          break;
        case Kind::failed:
          executor.stop_build(job, std::chrono::seconds(2));
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
