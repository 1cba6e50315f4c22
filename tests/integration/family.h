// A family of real git repositories (server, addons, web) and a state dir configured to
// watch them, for end-to-end tests of the binary.
#pragma once
#include <memory>
#include <string>

#include "support/support.h"

namespace runbot::test {

struct Family {
  TempDir tmp;
  std::unique_ptr<GitRepo> server, addons, web;
  std::filesystem::path state;

  // Whole sections appended to runbot.toml after [build] (e.g. "[sandbox]\nkind = \"none\"").
  std::string sections;
  // The environment and prefix of every command the family runs after init (tick, status,
  // kill, clean...): a secret planted in the tick's environment, a `timeout`, a PID namespace.
  Launch launch;

  // Creates the three repos with `trunk` and `6.0` branches and an initialised state dir
  // whose runbot.toml has `extra_runbot` appended to [runbot], `build` as [build] body and
  // then `sections`.
  explicit Family(const std::string& extra_runbot = "",
                  const std::string& build = "steps = [{ name = \"test\", run = \"true\" }]",
                  const std::string& sections = "");

  // Stops every runner, step and instance the test left (via `clean`).
  ~Family();

  std::string config(const std::string& extra_runbot, const std::string& build) const;
  // Runs the binary on this state dir with `launch`.
  Cmd command(const std::vector<std::string>& args) const { return launch.runbot(state, args); }
  Cmd tick(const std::vector<std::string>& extra = {}) const;
  nlohmann::json status() const { return launch.status(state); }
  nlohmann::json status_all() const { return launch.status(state, true); }
  // Waits (up to `seconds`) until no job is pending or building, ticking every 200 ms.
  bool settle(double seconds = 30) const { return launch.settle(state, seconds); }
};

// The jobs of `group` in status.json, newest first.
std::vector<nlohmann::json> jobs_of(const nlohmann::json& status, const std::string& group);
const nlohmann::json* group_of(const nlohmann::json& status, const std::string& group);

}  // namespace runbot::test
