// [executor]: where jobs run (SPEC "Executors").
#include <fmt/format.h>

#include "config/config.h"
#include "config/sections.h"
#include "exec/executor_kinds.h"

namespace runbot {

using config_check::Checker;

namespace {

// Slurm names (partitions, accounts) are plain words: they become one sbatch argument.
bool is_slurm_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string::npos;
}

}  // namespace

void read_executor(Checker& c, const toml::table& t, ExecutorConfig& e) {
  const std::string w = "[executor]";
  c.known_keys(t, {"kind", "partition", "account", "sbatch_args"}, w);
  if (const auto* v = c.get<std::string>(t, "kind", w, "a string")) {
    if (is_executor_kind(v->get())) {
      e.kind = v->get();
    } else {
      std::string list;
      for (std::string_view k : kExecutorKinds)
        list += fmt::format("{}\"{}\"", list.empty() ? "" : " or ", k);
      c.error(*v, fmt::format("{} kind must be {} (got \"{}\")", w, list, v->get()));
    }
  }
  for (auto [key, out] : {std::pair{"partition", &e.partition}, std::pair{"account", &e.account}}) {
    const auto* v = c.get<std::string>(t, key, w, "a string");
    if (!v) continue;
    if (v->get().empty() || is_slurm_name(v->get())) {
      *out = v->get();
    } else {
      c.error(*v,
              fmt::format("{} {} \"{}\" must be a Slurm name ([A-Za-z0-9_.-]+)", w, key, v->get()));
    }
  }
  if (auto args = c.strings(t, "sbatch_args", w)) {
    for (const auto& a : *args) {
      // Each is one argument of sbatch: an option, never a script or a second command.
      if (a.value.rfind("-", 0) != 0 || a.value.find('\0') != std::string::npos) {
        c.error(*a.node, fmt::format("{} sbatch_args: \"{}\" is not an option (it must start "
                                     "with '-')",
                                     w, a.value));
        continue;
      }
      e.sbatch_args.push_back(a.value);
    }
  }
}

}  // namespace runbot
