// The "local" executor: each runner is a detached process on this machine (its own session,
// output to runner.log), known by the pid + start time it records in runner.json; its steps
// and instance are confined processes recorded in step.json and instance.json.
#pragma once
#include "exec/executor.h"

namespace runbot {

class LocalExecutor : public Executor {
 public:
  explicit LocalExecutor(Paths paths);
  std::string_view kind() const override { return "local"; }
  Result<Started> start(const Job& job) override;
  std::map<int64_t, ProbeResult> probe(const std::vector<Job>& jobs) override;
  bool stop_build(const Job& job, std::chrono::milliseconds grace) override;
  bool stop_instance(const Job& job) override;
  Result<Started> wake(const Job& job, int port, const std::string& url,
                       Time* instance_started_at) override;
  std::string instance_address(const Job& job) const override;

 private:
  Paths paths_;
  std::string host_;
};

}  // namespace runbot
