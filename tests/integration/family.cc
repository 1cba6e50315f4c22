#include "family.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace runbot::test {

Family::Family(const std::string& extra_runbot, const std::string& build,
               const std::string& sections)
    : sections(sections) {
  server = std::make_unique<GitRepo>(tmp / "server");
  addons = std::make_unique<GitRepo>(tmp / "addons");
  web = std::make_unique<GitRepo>(tmp / "web");
  for (GitRepo* r : {server.get(), addons.get(), web.get()}) r->commit("6.0", "VERSION", "6.0\n");
  state = tmp / "state";
  std::filesystem::create_directories(state);
  write_text(tmp / "runbot.toml", config(extra_runbot, build));
  Cmd init = runbot(state, {"init", "--config", (tmp / "runbot.toml").string()});
  EXPECT_EQ(init.status, 0) << init.out << init.err;
}

Family::~Family() { command({"clean"}); }

std::string Family::config(const std::string& extra_runbot, const std::string& build) const {
  std::string projects;
  for (const char* name : {"server", "addons", "web"})
    projects += fmt::format(
        "[[project]]\nname = \"{}\"\nremotes = [\"{}\"]\nbase_branches = [\"trunk\", \"6.0\"]\n\n",
        name, (tmp / name).string());
  // Defaults for the tests unless `extra_runbot` sets them (TOML forbids a key twice).
  std::string runbot;
  for (const char* line :
       {"number = 4", "workers = 2", "nginx = \"include\"", "reload_command = \"true\""}) {
    std::string key = std::string(line).substr(0, std::string(line).find(' '));
    if (extra_runbot.find(key + " ") == std::string::npos) runbot += std::string(line) + "\n";
  }
  int base = 20000 + (getpid() % 2000) * 10;
  return fmt::format("[runbot]\n{}port_range = \"{}-{}\"\n{}\n\n{}[build]\n{}\n\n{}\n", runbot,
                     base, base + 9, extra_runbot, projects, build, sections);
}

Cmd Family::tick(const std::vector<std::string>& extra) const {
  std::vector<std::string> args{"tick"};
  args.insert(args.end(), extra.begin(), extra.end());
  return command(args);
}

std::vector<nlohmann::json> jobs_of(const nlohmann::json& status, const std::string& group) {
  std::vector<nlohmann::json> out;
  for (const auto& j : status["jobs"])
    if (j["group"] == group) out.push_back(j);
  return out;
}

const nlohmann::json* group_of(const nlohmann::json& status, const std::string& group) {
  for (const auto& g : status["groups"])
    if (g["name"] == group) return &g;
  return nullptr;
}

}  // namespace runbot::test
