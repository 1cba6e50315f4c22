// The one list of executor kinds (SPEC "Executors"): config validation reads it, and
// exec/executor.cc makes an Executor for each of them.
#pragma once
#include <array>
#include <string_view>

namespace runbot {

inline constexpr std::array<std::string_view, 2> kExecutorKinds = {"local", "slurm"};

inline bool is_executor_kind(std::string_view kind) {
  for (std::string_view k : kExecutorKinds)
    if (k == kind) return true;
  return false;
}

}  // namespace runbot
