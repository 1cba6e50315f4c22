// The "slurm" executor (SPEC "Executors"): each job is one Slurm batch job named runbot-<id>,
// commented with the state dir (so two runbots on one cluster never touch each other's jobs),
// output to jobs/<id>/runner.log, running `openerp-runbot job-run <id> --hold` on a node: the
// same runner as locally, which then stays while the job's instance lives, so the Slurm job is
// the instance's lifetime. The tick asks Slurm about every job in one squeue per probe.
#pragma once
#include <optional>

#include "exec/executor.h"

namespace runbot {

// One line of `squeue -h -t all -o %i|%j|%T|%N|%k`.
struct SlurmJob {
  std::string id, name, state, node, comment;
};

// Pure: squeue's output -> its jobs (lines that do not parse are skipped).
std::vector<SlurmJob> parse_squeue(const std::string& out);
// Pure: what a Slurm job in `state` means for a runbot job (see SlurmExecutor::probe).
enum class SlurmPhase { queued, running, completed, failed };
SlurmPhase slurm_phase(const std::string& state);

class SlurmExecutor : public Executor {
 public:
  SlurmExecutor(const Config& config, Paths paths);
  std::string_view kind() const override { return "slurm"; }
  Result<Started> start(const Job& job) override;
  std::map<int64_t, ProbeResult> probe(const std::vector<Job>& jobs) override;
  bool stop_build(const Job& job, std::chrono::milliseconds grace) override;
  bool stop_instance(const Job& job) override;
  Result<Started> wake(const Job& job, int port, const std::string& url,
                       Time* instance_started_at) override;
  std::string instance_address(const Job& job) const override;
  bool stop_everything() override;

 private:
  Result<Started> submit(const Job& job, const std::vector<std::string>& runner_args);
  // Every Slurm job of this state dir (by comment and name), or an error when squeue failed.
  Result<std::vector<SlurmJob>> ours();
  // Job's Slurm job: its recorded id, else the newest one named runbot-<id>.
  std::optional<SlurmJob> find(const Job& job, const std::vector<SlurmJob>& all) const;
  // scancel these ids, then wait until Slurm says each ended. True when verified.
  bool cancel(const std::vector<std::string>& ids);
  bool cancel_job(const Job& job);

  const Config& config_;
  Paths paths_;
  std::string comment_;  // the state dir's absolute path
};

}  // namespace runbot
