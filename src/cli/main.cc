// openerp-runbot's entry: split the command line at the command word, parse with the command's
// options from the table (cli/commands.cc), dispatch, turn uncaught errors into one message and
// an exit status (0 done, 1 failed, 2 bad usage/config).
#include <fmt/format.h>

#include <cxxopts.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "state/db.h"
#include "util/paths.h"

namespace {

using namespace runbot;

int usage_error(const std::string& message) {
  fmt::print(stderr, "openerp-runbot: {}\nRun 'openerp-runbot --help' for usage.\n", message);
  return 2;
}

void add_dir_option(cxxopts::Options& o) {
  o.add_options()("dir", "state directory (else $RUNBOT_DIR, else .)",
                  cxxopts::value<std::string>());
}

// No command word: global help and version, or the original runbot's --init/--run/--clean,
// which take the options of the command they alias (tick's for --run).
int without_command(int argc, char** argv) {
  cxxopts::Options o("openerp-runbot",
                     "Keeps every branch of a family of repositories built, tested and running "
                     "live.");
  o.custom_help("[--dir DIR] COMMAND [options]");
  add_dir_option(o);
  o.add_options()("h,help", "show this help")("version", "print the version");
  const Command* run = find_command("run");
  for (const Command& c : commands())
    if (c.alias) o.add_options()(c.alias + 2, fmt::format("alias of '{}'", c.name));
  run->add_options(o);  // --number, --workers, --start-job-id, --dry-run, --interval
  auto r = o.parse(argc, argv);
  if (r.count("help") || argc == 1) {
    std::cout << o.help() << "\n" << commands_help();
    return argc == 1 ? 2 : 0;
  }
  if (r.count("version")) {
    std::cout << "openerp-runbot " << RUNBOT_VERSION << "\n";
    return 0;
  }
  const Command* chosen = nullptr;
  int aliases = 0;
  for (const Command& c : commands())
    if (c.alias && r.count(c.alias + 2)) {
      chosen = &c;
      ++aliases;
    }
  if (aliases != 1) return usage_error("give one command (or one of --init, --run, --clean)");
  Paths paths = resolve_paths(r.count("dir") ? r["dir"].as<std::string>() : "");
  return chosen->run(Invocation{paths, r, chosen->lock});
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
  if (command_at == 0) return without_command(argc, argv);

  const Command* command = find_command(argv[command_at]);
  if (!command) return usage_error(fmt::format("unknown command '{}'", argv[command_at]));

  // The global part (before the command) may only hold --dir.
  cxxopts::Options global("openerp-runbot", "");
  add_dir_option(global);
  auto g = global.parse(command_at, argv);
  std::string dir = g.count("dir") ? g["dir"].as<std::string>() : "";

  cxxopts::Options o(fmt::format("openerp-runbot {}", command->name), command->description);
  add_dir_option(o);
  o.add_options()("h,help", "show this help");
  if (command->add_options) command->add_options(o);
  std::vector<char*> rest{argv[0]};
  for (int i = command_at + 1; i < argc; ++i) rest.push_back(argv[i]);
  auto r = o.parse(static_cast<int>(rest.size()), rest.data());
  if (r.count("help")) {
    std::cout << o.help();
    return 0;
  }
  if (!r.unmatched().empty())
    return usage_error(fmt::format("unexpected argument '{}'", r.unmatched()[0]));
  if (r.count("dir")) dir = r["dir"].as<std::string>();
  return command->run(Invocation{resolve_paths(dir), r, command->lock});
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
