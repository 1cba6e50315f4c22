#include "exec/slurm_executor.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <sstream>
#include <thread>

#include "exec/process.h"
#include "job/job_file.h"
#include "util/clock.h"
#include "util/failpoint.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr int kCommandTimeout = 30;  // seconds for one Slurm client command
// scancel's SIGTERM, then Slurm's SIGKILL after KillWait (30 s by default): the wait bound.
constexpr int kCancelWaitSeconds = 60;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string job_name(int64_t id) { return fmt::format("runbot-{}", id); }

Result<RunOutput> slurm(const std::vector<std::string>& argv) {
  auto r = run_capture(argv, RunOptions::with_timeout(kCommandTimeout));
  if (!r) return Error{fmt::format("{}: {}", argv[0], r.error().message)};
  if (r->exit_code != 0) {
    std::string why = r->err.empty() ? r->out : r->err;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Error{fmt::format("{} failed ({}): {}", argv[0],
                             r->timed_out ? "timed out" : fmt::format("exit {}", r->exit_code),
                             why)};
  }
  return r;
}

bool is_id(const std::string& s) {
  return !s.empty() && s.size() < 20 && s.find_first_not_of("0123456789_") == std::string::npos;
}

}  // namespace

std::vector<SlurmJob> parse_squeue(const std::string& out) {
  std::vector<SlurmJob> jobs;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    SlurmJob j;
    std::string* fields[] = {&j.id, &j.name, &j.state, &j.node};
    size_t at = 0;
    bool ok = true;
    for (std::string* f : fields) {
      size_t bar = line.find('|', at);
      if (bar == std::string::npos) {
        ok = false;
        break;
      }
      *f = line.substr(at, bar - at);
      at = bar + 1;
    }
    if (!ok || !is_id(j.id)) continue;
    j.comment = line.substr(at);  // the last field: a path may hold '|'
    if (j.node == "(null)" || j.node == "n/a") j.node.clear();
    jobs.push_back(std::move(j));
  }
  return jobs;
}

SlurmPhase slurm_phase(const std::string& state) {
  static const std::set<std::string> queued = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                                               "RESV_DEL_HOLD"};
  static const std::set<std::string> running = {"RUNNING",   "CONFIGURING", "COMPLETING",
                                                "SUSPENDED", "STOPPED",     "RESIZING",
                                                "SIGNALING", "STAGE_OUT"};
  if (queued.count(state)) return SlurmPhase::queued;
  if (running.count(state)) return SlurmPhase::running;
  if (state == "COMPLETED") return SlurmPhase::completed;
  return SlurmPhase::failed;  // CANCELLED, FAILED, NODE_FAIL, TIMEOUT, OUT_OF_MEMORY, ...
}

SlurmExecutor::SlurmExecutor(const Config& config, Paths paths)
    : config_(config), paths_(std::move(paths)) {
  std::error_code ec;
  fs::path root = fs::absolute(paths_.root, ec);
  comment_ = (ec ? paths_.root : root.lexically_normal()).string();
  if (comment_.size() > 1 && comment_.back() == '/') comment_.pop_back();
}

Result<Started> SlurmExecutor::submit(const Job& job, const std::vector<std::string>& runner_args) {
  // The nodes see the state dir at the same path (README "Running on a cluster").
  fs::path dir = fs::path(comment_) / "jobs" / std::to_string(job.id);
  std::string command = shell_quote(self_exe().string()) + " --dir " + shell_quote(comment_);
  for (const std::string& a : runner_args) command += " " + shell_quote(a);
  std::vector<std::string> argv = {
      "sbatch", "--parsable", "--job-name=" + job_name(job.id), "--chdir=" + dir.string(),
      "--output=" + (dir / marker::kRunnerLog).string(), "--open-mode=append",
      // A node failure ends the job (NODE_FAIL, so ko), never a
      // second run behind the tick's back.
      "--no-requeue", "--comment=" + comment_};
  const SandboxConfig& sb = config_.sandbox;
  if (sb.memory_bytes)
    argv.push_back(fmt::format("--mem={}M", (sb.memory_bytes + (1 << 20) - 1) >> 20));
  if (sb.cpus > 0)
    argv.push_back(fmt::format("--cpus-per-task={}", static_cast<int>(std::ceil(sb.cpus))));
  if (!config_.executor.partition.empty())
    argv.push_back("--partition=" + config_.executor.partition);
  if (!config_.executor.account.empty()) argv.push_back("--account=" + config_.executor.account);
  for (const std::string& a : config_.executor.sbatch_args) argv.push_back(a);
  argv.push_back("--wrap");
  argv.push_back("exec " + command);
  auto r = slurm(argv);
  if (!r) return r.error();
  failpoint("launch.after-spawn");
  std::string id = r->out.substr(0, r->out.find_first_of(";\n"));
  if (!is_id(id)) return Error{fmt::format("sbatch printed no job id: {:?}", r->out)};
  return Started{id, ""};
}

Result<Started> SlurmExecutor::start(const Job& job) {
  // The node checks the port the tick chose and takes another of port_range if it is taken there.
  return submit(job, {"job-run", std::to_string(job.id), "--hold", "--ports",
                      fmt::format("{}-{}", config_.runbot.port_min, config_.runbot.port_max)});
}

Result<std::vector<SlurmJob>> SlurmExecutor::ours() {
  auto r = slurm({"squeue", "-h", "-t", "all", "-o", "%i|%j|%T|%N|%k"});
  if (!r) return r.error();
  std::vector<SlurmJob> out;
  for (SlurmJob& j : parse_squeue(r->out))
    if (j.comment == comment_ && j.name.rfind("runbot-", 0) == 0) out.push_back(std::move(j));
  return out;
}

std::optional<SlurmJob> SlurmExecutor::find(const Job& job,
                                            const std::vector<SlurmJob>& all) const {
  std::optional<SlurmJob> best;
  for (const SlurmJob& j : all) {
    if (!job.executor_id.empty()) {
      if (j.id == job.executor_id) return j;
      continue;
    }
    // Not recorded (a tick killed right after sbatch): the newest of its name.
    if (j.name == job_name(job.id) &&
        (!best || std::stoll(j.id.substr(0, j.id.find('_'))) >
                      std::stoll(best->id.substr(0, best->id.find('_')))))
      best = j;
  }
  return best;
}

std::map<int64_t, ProbeResult> SlurmExecutor::probe(const std::vector<Job>& jobs) {
  std::map<int64_t, ProbeResult> out;
  auto all = ours();  // the one Slurm call of the probe
  for (const Job& job : jobs) {
    ProbeResult& p = out[job.id];
    fs::path dir = paths_.job(job.id);
    if (!all) {
      // Cannot tell: nothing changes until Slurm answers again.
      p.warnings.push_back(fmt::format("job {}: {}", job.id, all.error().message));
      p.runner = MarkerState::unreadable;
      p.runner_alive = true;
      p.instance_alive = job.state == JobState::running;
      continue;
    }
    std::optional<SlurmJob> s = find(job, *all);
    if (!s) {
      if (job.executor_id.empty()) continue;  // never submitted (reap's spawn grace applies)
      // Recorded but no longer listed (older than MinJobAge): it ended.
      p.runner = MarkerState::present;
      p.ended = fmt::format("slurm job {} is gone", job.executor_id);
      continue;
    }
    p.id = s->id;
    p.host = s->node;
    p.runner = MarkerState::present;
    SlurmPhase phase = slurm_phase(s->state);
    if (phase == SlurmPhase::queued) {
      p.queued = true;
      p.queue_note = "queued in slurm";
      p.instance_alive = job.state == JobState::running;  // woken, waiting for a node
      continue;
    }
    p.runner_alive = phase == SlurmPhase::running;
    if (phase == SlurmPhase::failed) p.ended = "slurm: " + s->state;
    // The instance lives as long as its Slurm job (the runner holds it); instance.json says
    // whether it was started and when.
    auto instance = read_process_marker(dir / marker::kInstance);
    if (!instance) {
      p.warnings.push_back(fmt::format("job {}: {}", job.id, instance.error().message));
      if (is_bad_marker(instance.error())) p.bad_marker = bad_marker_note(instance.error());
    } else if (*instance) {
      p.instance_alive = p.runner_alive;
      p.instance_started_at = (*instance)->started_at;
      p.instance_port = (*instance)->port;
    }
  }
  return out;
}

bool SlurmExecutor::cancel(const std::vector<std::string>& ids) {
  if (ids.empty()) return true;
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  (void)slurm(argv);  // an id Slurm no longer knows is not an error: verified below
  std::set<std::string> waiting(ids.begin(), ids.end());
  for (int i = 0; i < kCancelWaitSeconds * 5; ++i) {
    auto all = ours();
    if (all) {
      std::set<std::string> alive;
      for (const SlurmJob& j : *all)
        if (waiting.count(j.id) && slurm_phase(j.state) != SlurmPhase::completed &&
            slurm_phase(j.state) != SlurmPhase::failed)
          alive.insert(j.id);
      if (alive.empty()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

bool SlurmExecutor::cancel_job(const Job& job) {
  auto all = ours();
  if (!all) return false;
  auto s = find(job, *all);
  if (!s) return true;  // never submitted, or long gone
  return cancel({s->id});
}

bool SlurmExecutor::stop_build(const Job& job, std::chrono::milliseconds) {
  return cancel_job(job);
}

bool SlurmExecutor::stop_instance(const Job& job) { return cancel_job(job); }

Result<Started> SlurmExecutor::wake(const Job& job, int port, const std::string&,
                                    Time* instance_started_at) {
  Job again = job;
  again.executor_id.clear();
  auto started = submit(again, {"job-run", std::to_string(job.id), "--wake", std::to_string(port)});
  if (started && instance_started_at) *instance_started_at = now();
  return started;
}

std::string SlurmExecutor::instance_address(const Job& job) const {
  if (job.host.empty()) return "";  // not on a node yet: no vhost
  return fmt::format("{}:{}", job.host, job.port);
}

bool SlurmExecutor::stop_everything() {
  auto all = ours();
  if (!all) return false;
  std::vector<std::string> ids;
  for (const SlurmJob& j : *all)
    if (slurm_phase(j.state) == SlurmPhase::queued || slurm_phase(j.state) == SlurmPhase::running)
      ids.push_back(j.id);
  return cancel(ids);
}

}  // namespace runbot
