#include "exec/executor.h"

#include <unistd.h>

#include "exec/executor_kinds.h"
#include "exec/local_executor.h"
#include "exec/slurm_executor.h"

namespace runbot {

std::unique_ptr<Executor> make_executor(std::string_view kind, const Config& config,
                                        const Paths& paths) {
  static_assert(kExecutorKinds.size() == 2, "every kind is made here");
  if (kind == "local") return std::make_unique<LocalExecutor>(paths);
  if (kind == "slurm") return std::make_unique<SlurmExecutor>(config, paths);
  return nullptr;
}

Executor* Executors::of(const std::string& kind) {
  auto it = made_.find(kind);
  if (it == made_.end()) {
    auto made = make_executor(kind, config_, paths_);
    if (!made) return nullptr;
    it = made_.emplace(kind, std::move(made)).first;
  }
  return it->second.get();
}

void Executors::put(std::unique_ptr<Executor> e) {
  std::string kind(e->kind());
  made_[kind] = std::move(e);
}

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || !name[0]) return "localhost";
  return name;
}

}  // namespace runbot
