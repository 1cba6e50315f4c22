// The command line's one table (as ninja's kTools[]): each command's name, help, options, the
// function that runs it and how it takes tick.lock. `--help`, dispatch and the original
// runbot's aliases (--init, --run, --clean) all come from it.
#pragma once
#include <cstdint>
#include <cxxopts.hpp>
#include <span>
#include <string>

#include "state/state.h"
#include "tick/tick.h"
#include "util/paths.h"

namespace runbot {

// What a command's function gets: the state dir, its parsed options, and the table's lock.
struct Invocation {
  const Paths& paths;
  const cxxopts::ParseResult& args;
  Lock lock;
};

struct Command {
  const char* name;
  const char* args;                        // shown after the name in the list: "[--json]", "JOB"
  const char* summary;                     // its line in `openerp-runbot --help`
  const char* description;                 // the first line of `openerp-runbot NAME --help`
  void (*add_options)(cxxopts::Options&);  // null: no options of its own
  int (*run)(const Invocation&);           // the exit status: 0 done, 1 failed, 2 bad usage
  Lock lock;
  const char* alias;  // the original runbot's spelling ("--init"), or null
  bool hidden;        // not listed (job-run: started by tick only)
};

// Every command, in the order `--help` lists them.
std::span<const Command> commands();
// The command named `name`, or null.
const Command* find_command(const std::string& name);
// The list of commands for `openerp-runbot --help`.
std::string commands_help();

// The options `tick` and `run` share (--number, --workers, --start-job-id, --dry-run), and the
// TickOptions they give.
void add_tick_options(cxxopts::Options& o);
TickOptions tick_options(const cxxopts::ParseResult& r);

// The commands' bodies: cli/setup.cc (init, run, build, job-run), cli/status.cc,
// cli/control.cc (kill, wake, keep, gc, clean). `lock` is the table's.
int cmd_init(const Paths& paths, Lock lock, const std::string& config_file);
int cmd_run(const Paths& paths, const TickOptions& options, int interval_seconds);

int cmd_errors(const Paths& paths, bool json);  // cli/errors.cc
int cmd_status(const Paths& paths, bool json, bool all = false);
int cmd_build(const Paths& paths, Lock lock, const std::string& group);
int cmd_kill(const Paths& paths, Lock lock, int64_t job);
int cmd_wake(const Paths& paths, Lock lock, int64_t job);
int cmd_keep(const Paths& paths, Lock lock, int64_t job, bool off);
int cmd_gc(const Paths& paths, Lock lock);
int cmd_clean(const Paths& paths, Lock lock);
// `ports` "LO-HI" (Slurm): the instance's port is checked on this node (see node_port).
int cmd_job_run(const Paths& paths, int64_t job, bool hold = false, const std::string& ports = "");
// On a Slurm node: starts job's instance again on `port` (wake), then holds it.
int cmd_job_wake_here(const Paths& paths, int64_t job, int port);

}  // namespace runbot
