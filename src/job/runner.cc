#include "job/runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "exec/confined.h"
#include "exec/executor.h"
#include "exec/process.h"
#include "job/classify.h"
#include "job/error_extract.h"
#include "job/export.h"
#include "job/job_env.h"
#include "job/job_file.h"
#include "jobdb/jobdb.h"
#include "util/clock.h"
#include "util/failpoint.h"
#include "util/stop_signals.h"
#include "vcs/vcs.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

std::string plural(int n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

class JobRun {
 public:
  JobRun(Paths paths, fs::path dir, JobSpec spec)
      : paths_(std::move(paths)),
        dir_(std::move(dir)),
        src_(dir_ / "src"),
        spec_(std::move(spec)) {}

  // Starts the live instance of an already built job again (its database is kept).
  Result<ProcessMarker> wake() {
    auto database = make_job_database(spec_.database, paths_);
    if (!database) return database.error();
    database_ = std::move(*database);
    if (auto st = start_instance(); !st) return st.error();
    auto m = read_process_marker(dir_ / marker::kInstance);
    if (!m || !*m) return Error{"the instance started but instance.json is unreadable"};
    return **m;
  }

  int run() {
    result_.started_at = now();
    build_started_ = monotonic_seconds();
    log("job {} ({}) started", spec_.id, spec_.group);
    if (auto st = check_spec(); !st) return finish(JobResult::ko, st.error().message);
    // The database first: the steps' environment names it, so the first step's process can be
    // forked before the export (prepare_first_step).
    if (auto st = create_database(); !st) {
      if (stop_requested()) return finish(JobResult::killed, "killed");
      return finish(JobResult::ko, fmt::format("database {}: {}", job_database_name(spec_.id),
                                               st.error().message));
    }
    if (stop_requested()) return finish(JobResult::killed, "killed");
    std::optional<PreparedStep> first = prepare_first_step();
    // Stops the first step where it waits (its sandbox is made during the export), then ends.
    auto abandon = [&](JobResult result, std::string note) {
      first.reset();
      std::error_code ec;
      fs::remove(dir_ / marker::kStepProcess, ec);
      return finish(result, std::move(note));
    };
    failpoint("runner.during-export");
    for (const auto& source : spec_.sources) {
      if (auto st = export_source(source); !st) {
        if (stop_requested()) return abandon(JobResult::killed, "killed");
        return abandon(JobResult::ko, fmt::format("export of {} failed: {}", source.project,
                                                  st.error().message));
      }
    }
    if (stop_requested()) return abandon(JobResult::killed, "killed");
    if (auto st = hand_over_folders(view()); !st) return abandon(JobResult::ko, st.error().message);
    for (const auto& step : spec_.build.steps) {
      std::optional<PreparedStep> prepared;
      if (&step == &spec_.build.steps.front()) prepared = std::move(first);
      first.reset();
      std::string failure = run_step(step, std::move(prepared));
      if (stop_requested()) return finish(JobResult::killed, "killed");
      if (!failure.empty()) return finish(JobResult::ko, failure);
    }
    if (result_.errors > 0) return finish(JobResult::ko, plural(result_.errors, "error line"));
    if (result_.warnings > 0)
      return finish(JobResult::warn, plural(result_.warnings, "warning line"));
    return finish(JobResult::ok, "");
  }

 private:
  template <typename... Args>
  static void log(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "{} {}\n", iso8601(now()), fmt::format(f, std::forward<Args>(args)...));
    std::fflush(stderr);
  }

  // job.json may have been edited by hand (check_job_spec); then a clean src/ and logs/.
  Status check_spec() {
    if (auto st = check_job_spec(spec_); !st) return st;
    std::error_code ec;
    fs::remove_all(src_, ec);
    fs::create_directories(dir_ / "logs", ec);
    if (ec)
      return Error{fmt::format("cannot create {}: {}", (dir_ / "logs").string(), ec.message())};
    return {};
  }

  Status export_source(const JobSource& source) {
    log("export {} {}", source.project, source.rev);
    auto vcs = make_vcs(source.vcs);
    if (!vcs) return Error{fmt::format("unknown vcs '{}'", source.vcs)};
    ProjectConfig project;
    project.name = source.project;
    project.vcs = source.vcs;
    project.remotes = {source.remote};
    return extract_tar_stream(src_ / source.project, [&](const TarSink& sink) {
      TarSink stoppable = [&](std::string_view bytes) { return !stop_requested() && sink(bytes); };
      return vcs->export_tar(project, source.mirror, source.remote, source.rev, stoppable);
    });
  }

  // The job's own database, made before the first step; the live instance keeps it.
  Status create_database() {
    auto database = make_job_database(spec_.database, paths_);
    if (!database) return database.error();
    database_ = std::move(*database);
    log("database {} ({})", job_database_name(spec_.id), spec_.database.kind);
    double t0 = monotonic_seconds();
    if (auto st = database_->create(spec_.id); !st) return st;
    log("database {} ready in {:.1f} s", job_database_name(spec_.id), monotonic_seconds() - t0);
    return {};
  }

  JobView view() const { return JobView{paths_, dir_, spec_, database_.get()}; }

  SandboxRequest request(const std::string& name, bool instance) const {
    return job_sandbox_request(view(), name, instance);
  }

  // The first step's process, forked now so that joining its cgroups (each cgroup v1 join
  // waits for an RCU grace period, 5-18 ms measured) overlaps the export; it waits until the
  // sources are there. Nothing when there is no step (without limits the
  // early fork still takes the fork off the step's start).
  std::optional<PreparedStep> prepare_first_step() {
    if (spec_.build.steps.empty()) return std::nullopt;
    const StepConfig& step = spec_.build.steps.front();
    std::error_code ec;
    fs::create_directories(src_, ec);  // the sandbox binds it; the export fills it
    auto prepared = prepare_step(request(step.name, false), step.run, dir_ / step_log(step));
    if (!prepared) return std::nullopt;  // run_step tries again and reports why
    // Named at once: were this runner killed during the export, reconcile stops what waits
    // by this marker (bwrap's sandbox, which never reads EOF at its gate, would wait forever).
    write_step_marker(prepared->waiting());
    return std::move(*prepared);
  }

  static std::string step_log(const StepConfig& step) { return "logs/" + step.name + ".log"; }

  // step.json, without an fsync (it is written just before the step runs): what it names
  // dies with the machine, and a job whose runner died with it gets a fresh folder if retried.
  void write_step_marker(const Confined& c) {
    auto st = write_process_marker(dir_ / marker::kStepProcess, marker_of(c, now(), 0), Sync::later);
    if (!st) log("{}", st.error().message);
  }

  // Runs one step (`prepared`: its process forked ahead); returns why the build fails because
  // of it ("" when it passed).
  std::string run_step(const StepConfig& step, std::optional<PreparedStep> prepared) {
    StepRecord rec;
    rec.name = step.name;
    rec.log = step_log(step);
    int timeout = step.timeout > 0 ? step.timeout : 0;
    if (spec_.build_timeout > 0) {
      double left = spec_.build_timeout - (monotonic_seconds() - build_started_);
      int remaining = std::max(1, static_cast<int>(std::ceil(left)));
      timeout = timeout > 0 ? std::min(timeout, remaining) : remaining;
    }
    log("step {} (timeout {} s)", step.name, timeout);
    rec.started_at = now();
    double t0 = monotonic_seconds();
    auto on_start = [this](const Confined& c) {
      write_step_marker(c);
      if (c.sandbox.pid > 0) log("sandbox pid {}, limits {}", c.sandbox.pid, c.limits);
    };
    auto out = prepared ? run_prepared(std::move(*prepared), timeout, stop_requested, on_start)
                        : run_confined(request(step.name, false), step.run, dir_ / rec.log, timeout,
                                       stop_requested, on_start);
    rec.seconds = monotonic_seconds() - t0;
    rec.finished_at = now();
    std::error_code ec;
    fs::remove(dir_ / marker::kStepProcess, ec);

    std::string failure;
    if (!out) {
      failure = fmt::format("{} could not start: {}", step.name, out.error().message);
    } else if (!out->failure.empty()) {
      failure = out->failure;
      rec.exit = out->out.exit_code;
    } else {
      rec.exit = out->out.exit_code;
      rec.timed_out = out->out.timed_out;
      if (out->out.timed_out) {
        failure = fmt::format("timeout in {} after {} s", step.name, timeout);
      } else if (out->out.signal != 0) {
        failure = fmt::format("{} killed by signal {}", step.name, out->out.signal);
      } else if (out->out.exit_code != 0) {
        failure = fmt::format("{} exited {}", step.name, out->out.exit_code);
      }
    }
    LogClassifier classifier(spec_.build.error_pattern, spec_.build.warning_pattern,
                             spec_.build.coverage_pattern);
    if (auto counts = errors_.scan_step(classifier, step.name, dir_ / rec.log)) {
      rec.errors = counts->errors;
      rec.warnings = counts->warnings;
      if (counts->coverage) result_.coverage = counts->coverage;
    }
    result_.errors += rec.errors;
    result_.warnings += rec.warnings;
    log("step {}: exit {}{} in {:.1f} s, {}, {}", step.name, rec.exit,
        rec.timed_out ? " (timeout)" : "", rec.seconds, plural(rec.errors, "error"),
        plural(rec.warnings, "warning"));
    steps_.push_back(rec);
    if (auto st = write_steps(dir_, steps_); !st) log("{}", st.error().message);
    if (auto st = errors_.write(dir_); !st) log("{}", st.error().message);
    return failure;
  }

  std::vector<std::string> existing_artifacts() const {
    std::vector<std::string> out;
    for (const auto& a : spec_.build.artifacts) {
      fs::path rel = fs::path(a).lexically_normal();
      if (rel.empty() || rel.is_absolute() || *rel.begin() == "..") continue;
      std::error_code ec;
      if (fs::exists(src_ / rel, ec)) out.push_back((fs::path("src") / rel).string());
    }
    return out;
  }

  bool wants_instance(JobResult r) const {
    const auto& on = spec_.build.run_on;
    return !spec_.build.run.empty() && spec_.port > 0 &&
           std::find(on.begin(), on.end(), to_string(r)) != on.end();
  }

  // The instance marker is written before result.json, so a tick that sees the result also
  // sees the instance.
  Status start_instance() {
    auto started =
        spawn_confined(request("instance", true), spec_.build.run, dir_ / "logs/instance.log");
    if (!started) {
      log("cannot start the instance: {}", started.error().message);
      return started.error();
    }
    if (auto st =
            write_process_marker(dir_ / marker::kInstance, marker_of(*started, now(), spec_.port));
        !st) {
      log("{}", st.error().message);
      stop_confined(*started);
      return st;
    }
    log("instance started, pid {}, port {}", started->process.pid, spec_.port);
    return {};
  }

  int finish(JobResult result, std::string note) {
    result_.result = result;
    result_.note = std::move(note);
    result_.finished_at = now();
    result_.artifacts = existing_artifacts();
    log("result {}{}{}", to_string(result), result_.note.empty() ? "" : ": ", result_.note);
    if (wants_instance(result)) {
      auto st = start_instance();
      // Never run unconfined: a sandbox that cannot be made fails the job.
      if (!st && st.error().message.rfind("sandbox: ", 0) == 0) {
        result_.result = JobResult::ko;
        result_.note = st.error().message;
      }
    }
    if (auto st = write_result(dir_, result_); !st) {
      log("{}", st.error().message);
      return 1;
    }
    return 0;
  }

  Paths paths_;
  fs::path dir_;
  fs::path src_;
  JobSpec spec_;
  std::unique_ptr<JobDatabase> database_;
  ResultMarker result_;
  std::vector<StepRecord> steps_;
  JobErrors errors_{job_error_context(dir_)};
  double build_started_ = 0;
};

}  // namespace

int run_job(const Paths& paths, int64_t id, int port_lo, int port_hi) {
  StopSignals signals;
  std::error_code ec;
  fs::path dir = fs::absolute(paths.job(id), ec);
  if (ec) dir = paths.job(id);
  ProcessMarker self;
  self.process = self_process_id();
  self.started_at = now();
  // The local executor wrote it already, naming this very process; a runner started some
  // other way (Slurm, by hand) names itself. (A write is an fsync before the first step.)
  auto marked = read_process_marker(dir / marker::kRunner);
  bool named = marked && *marked && (*marked)->process == self.process;
  if (!named) {
    if (auto st = write_process_marker(dir / marker::kRunner, self); !st)
      fmt::print(stderr, "{}\n", st.error().message);
  }
  auto spec = read_job_spec(dir);
  if (!spec) {
    fmt::print(stderr, "{}\n", spec.error().message);
    ResultMarker r;
    r.result = JobResult::ko;
    r.note = spec.error().message;
    r.started_at = r.finished_at = now();
    (void)write_result(dir, r);
    return 1;
  }
  if (port_lo > 0 && spec->port > 0) {
    int port = node_port(spec->port, port_lo, port_hi, port_bindable);
    if (port && port != spec->port) {
      fmt::print(stderr, "{} port {} is taken on this node: the instance gets {}\n", iso8601(now()),
                 spec->port, port);
      spec->port = port;
    }
  }
  Paths absolute{fs::absolute(paths.root, ec)};
  if (ec) absolute = paths;
  return JobRun(absolute, dir, std::move(*spec)).run();
}

Result<ProcessMarker> start_instance(const Paths& paths, int64_t id, int port,
                                     const std::string& url) {
  std::error_code ec;
  Paths absolute{fs::absolute(paths.root, ec)};
  if (ec) absolute = paths;
  fs::path dir = absolute.job(id);
  auto spec = read_job_spec(dir);
  if (!spec) return spec.error();
  if (spec->build.run.empty()) return Error{"the job has no run command"};
  if (!fs::is_directory(dir / "src", ec))
    return Error{fmt::format("{} is gone (garbage-collected?)", (dir / "src").string())};
  spec->port = port;
  spec->url = url;
  if (auto st = write_job_spec(dir, *spec); !st) return st.error();
  return JobRun(absolute, dir, std::move(*spec)).wake();
}

}  // namespace runbot

namespace runbot {

void hold_instance(const Paths& paths, int64_t id) {
  StopSignals signals;
  auto m = read_process_marker(paths.job(id) / marker::kInstance);
  if (!m || !*m) return;
  const ProcessMarker& instance = **m;
  while (marked_alive(instance) && !stop_requested())
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop_marked(instance, std::chrono::seconds(2));  // what is left: its namespace, its cgroups
}

}  // namespace runbot
