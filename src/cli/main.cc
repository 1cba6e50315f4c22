// CLI only: parse, dispatch, exit codes (0 done, 1 failed, 2 bad usage/config).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "state/db.h"
#include "tick/tick.h"
#include "util/paths.h"

namespace {

using runbot::Paths;

constexpr const char* kCommands = R"(Commands:
  init [--config FILE]   create the layout, config, database and mirrors
  tick [options]         one pass: scan, plan, launch, reap, limit, publish
  run [--interval SEC]   tick forever (default every 60 s) until SIGINT/SIGTERM
  status [--json]        groups, jobs, instances, warnings
  build GROUP            queue a manual job for a group
  kill JOB               stop a build or a live instance
  wake JOB               restart a finished job's live instance
  keep JOB [--off]       pin a job (its instance is never killed by the limit)
  gc                     remove job folders beyond retention
  clean                  stop everything, forget all jobs (ids continue)

Run 'openerp-runbot COMMAND --help' for a command's options.
The original runbot's --init, --run, --clean (with --number, --workers,
--start-job-id) are accepted as aliases.
)";

struct Parsed {
  std::string dir;
  cxxopts::ParseResult result;
};

void add_tick_options(cxxopts::Options& o) {
  o.add_options()("number", "max live instances (overrides runbot.toml)", cxxopts::value<int>())(
      "workers", "max builds at once (overrides runbot.toml)", cxxopts::value<int>())(
      "start-job-id", "raise the job-id sequence to at least N", cxxopts::value<int64_t>())(
      "dry-run", "print what a tick would do and why; change nothing");
}

std::string command_description(const std::string& command) {
  if (command == "init")
    return "Create the state directory's layout, runbot.toml (unless present), the database and "
           "the mirrors.";
  if (command == "tick") return "Run one tick: lock, scan, plan, launch, reap, limit, publish, unlock.";
  if (command == "run") return "Tick forever until SIGINT/SIGTERM.";
  if (command == "status") return "Show groups, jobs, instances and warnings.";
  if (command == "build") return "Queue a manual job for GROUP with its last scanned revisions.";
  if (command == "kill") return "Stop a pending/building job or a live instance.";
  if (command == "wake") return "Restart the live instance of a finished job.";
  if (command == "keep") return "Pin a job so the instance limit never kills it.";
  if (command == "gc") return "Remove job folders and per-job data beyond keep_per_group.";
  if (command == "clean")
    return "Stop every build, instance and the private nginx; remove jobs/, www/, nginx/; forget "
           "all jobs. Config, mirrors and the job-id sequence stay.";
  return "Run a job (started by tick; not for direct use).";
}

cxxopts::Options command_options(const std::string& command) {
  cxxopts::Options o("openerp-runbot " + command, command_description(command));
  o.add_options()("dir", "state directory (else $RUNBOT_DIR, else .)",
                  cxxopts::value<std::string>())("h,help", "show this help");
  if (command == "init") {
    o.add_options()("config", "copy this file as runbot.toml", cxxopts::value<std::string>());
  } else if (command == "tick") {
    add_tick_options(o);
  } else if (command == "run") {
    add_tick_options(o);
    o.add_options()("interval", "seconds between ticks", cxxopts::value<int>()->default_value("60"));
  } else if (command == "status") {
    o.add_options()("json", "print status.json (SPEC schema)");
  } else if (command == "build") {
    o.add_options()("group", "branch name", cxxopts::value<std::string>());
    o.parse_positional({"group"});
    o.positional_help("GROUP");
  } else if (command == "kill" || command == "wake" || command == "keep" ||
             command == "job-run") {
    o.add_options()("job", "job id", cxxopts::value<int64_t>());
    if (command == "keep") o.add_options()("off", "unpin");
    o.parse_positional({"job"});
    o.positional_help("JOB");
  }
  return o;
}

bool known_command(const std::string& c) {
  for (auto k : {"init", "tick", "run", "status", "build", "kill", "wake", "keep", "gc", "clean",
                 "job-run"})
    if (c == k) return true;
  return false;
}

runbot::TickOptions tick_options(const cxxopts::ParseResult& r) {
  runbot::TickOptions t;
  if (r.count("number")) t.number = r["number"].as<int>();
  if (r.count("workers")) t.workers = r["workers"].as<int>();
  if (r.count("start-job-id")) t.start_job_id = r["start-job-id"].as<int64_t>();
  t.dry_run = r.count("dry-run") > 0;
  return t;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "openerp-runbot: {}\nRun 'openerp-runbot --help' for usage.\n", message);
  return 2;
}

int dispatch(const std::string& command, const cxxopts::ParseResult& r, const Paths& paths) {
  using namespace runbot;
  if (command == "init") return cmd_init(paths, r.count("config") ? r["config"].as<std::string>() : "");
  if (command == "tick") return tick(paths, tick_options(r));
  if (command == "run") return cmd_run(paths, tick_options(r), r["interval"].as<int>());
  if (command == "status") return cmd_status(paths, r.count("json") > 0);
  if (command == "gc") return cmd_gc(paths);
  if (command == "clean") return cmd_clean(paths);
  if (command == "build") {
    if (!r.count("group")) return usage_error("build needs a GROUP");
    return cmd_build(paths, r["group"].as<std::string>());
  }
  if (!r.count("job")) return usage_error(command + " needs a JOB id");
  int64_t job = r["job"].as<int64_t>();
  if (command == "kill") return cmd_kill(paths, job);
  if (command == "wake") return cmd_wake(paths, job);
  if (command == "keep") return cmd_keep(paths, job, r.count("off") > 0);
  return cmd_job_run(paths, job);
}

int main_impl(int argc, char** argv) {
  // Split at the command word: global options before it, the command's after it.
  int command_at = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    command_at = i;
    break;
  }

  if (command_at == 0) {
    // No command word: global help/version, or the original runbot's --init/--run/--clean.
    cxxopts::Options o("openerp-runbot", "Keeps every branch of a family of repositories built, "
                                         "tested and running live.");
    o.custom_help("[--dir DIR] COMMAND [options]");
    o.add_options()("dir", "state directory (else $RUNBOT_DIR, else .)",
                    cxxopts::value<std::string>())("h,help", "show this help")(
        "version", "print the version")("init", "alias of 'init'")("run", "alias of 'run'")(
        "clean", "alias of 'clean'")("interval", "with --run: seconds between ticks",
                                     cxxopts::value<int>()->default_value("60"));
    add_tick_options(o);
    auto r = o.parse(argc, argv);
    if (r.count("help") || argc == 1) {
      std::cout << o.help() << "\n" << kCommands;
      return argc == 1 ? 2 : 0;
    }
    if (r.count("version")) {
      std::cout << "openerp-runbot " << RUNBOT_VERSION << "\n";
      return 0;
    }
    Paths paths = runbot::resolve_paths(r.count("dir") ? r["dir"].as<std::string>() : "");
    int aliases = static_cast<int>(r.count("init") + r.count("run") + r.count("clean"));
    if (aliases != 1) return usage_error("give one command (or one of --init, --run, --clean)");
    if (r.count("init")) return runbot::cmd_init(paths, "");
    if (r.count("clean")) return runbot::cmd_clean(paths);
    return runbot::cmd_run(paths, tick_options(r), r["interval"].as<int>());
  }

  std::string command = argv[command_at];
  if (!known_command(command)) return usage_error(fmt::format("unknown command '{}'", command));

  // Global part (before the command) may only hold --dir.
  cxxopts::Options global("openerp-runbot", "");
  global.add_options()("dir", "", cxxopts::value<std::string>());
  auto g = global.parse(command_at, argv);
  std::string dir = g.count("dir") ? g["dir"].as<std::string>() : "";

  cxxopts::Options o = command_options(command);
  std::vector<char*> rest{argv[0]};
  for (int i = command_at + 1; i < argc; ++i) rest.push_back(argv[i]);
  auto r = o.parse(static_cast<int>(rest.size()), rest.data());
  if (r.count("help")) {
    std::cout << o.help();
    return 0;
  }
  if (!r.unmatched().empty()) return usage_error(fmt::format("unexpected argument '{}'", r.unmatched()[0]));
  if (r.count("dir")) dir = r["dir"].as<std::string>();
  return dispatch(command, r, runbot::resolve_paths(dir));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return main_impl(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  } catch (const runbot::DbError& e) {
    fmt::print(stderr, "openerp-runbot: database error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "openerp-runbot: {}\n", e.what());
    return 1;
  }
}
