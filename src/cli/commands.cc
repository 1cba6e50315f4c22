#include "cli/commands.h"

#include <fmt/format.h>

namespace runbot {

namespace {

int usage(const std::string& message) {
  fmt::print(stderr, "openerp-runbot: {}\nRun 'openerp-runbot --help' for usage.\n", message);
  return 2;
}

// Commands that act on one job take it as their positional JOB.
void job_argument(cxxopts::Options& o) {
  o.add_options()("job", "job id", cxxopts::value<int64_t>());
  o.parse_positional({"job"});
  o.positional_help("JOB");
}

template <int (*body)(const Paths&, Lock, int64_t)>
int on_job(const Invocation& in) {
  if (!in.args.count("job")) return usage("this command needs a JOB id");
  return body(in.paths, in.lock, in.args["job"].as<int64_t>());
}

void run_options(cxxopts::Options& o) {
  add_tick_options(o);
  o.add_options()("interval", "seconds between ticks", cxxopts::value<int>()->default_value("60"));
}

constexpr const char* kTickDescription =
    "Run one tick: lock, scan (fetch every remote into its mirror, record heads), plan, record, "
    "reap, launch, limit, gc, publish, unlock.";

const Command kCommands[] = {
    {"init", "[--config FILE]", "create the layout, config, database and mirrors",
     "Create the state directory's layout, runbot.toml (unless present), the database and the "
     "mirrors (with progress).",
     [](cxxopts::Options& o) {
       o.add_options()("config", "copy this file as runbot.toml", cxxopts::value<std::string>());
     },
     [](const Invocation& in) {
       return cmd_init(in.paths, in.lock,
                       in.args.count("config") ? in.args["config"].as<std::string>() : "");
     },
     Lock::wait, "--init", false},
    {"tick", "[options]", "one pass: scan, plan, record, reap, launch, limit, gc, publish",
     kTickDescription, add_tick_options,
     [](const Invocation& in) { return tick(in.paths, tick_options(in.args)); }, Lock::skip_if_busy,
     nullptr, false},
    {"run", "[--interval SEC]", "tick forever (default every 60 s) until SIGINT/SIGTERM",
     "Tick forever (each tick as 'tick' does) until SIGINT/SIGTERM.", run_options,
     [](const Invocation& in) {
       return cmd_run(in.paths, tick_options(in.args), in.args["interval"].as<int>());
     },
     Lock::skip_if_busy, "--run", false},
    {"status", "[--json [--all]]", "groups, jobs, instances, warnings",
     "Show groups, jobs, instances and warnings (--json: status.json's document, the current "
     "jobs; --all: every job of the history, streamed).",
     [](cxxopts::Options& o) {
       o.add_options()("json", "print status.json (SPEC schema)")(
           "all", "with --json: every job, not only the current ones");
     },
     [](const Invocation& in) {
       return cmd_status(in.paths, in.args.count("json") > 0, in.args.count("all") > 0);
     },
     Lock::none, nullptr, false},
    {"errors", "[--json]", "the build errors table: new, known and flaky errors",
     "Show every build error (fingerprint, class, jobs, groups, first and last job), last seen "
     "first (--json: one document).",
     [](cxxopts::Options& o) { o.add_options()("json", "print the errors table as JSON"); },
     [](const Invocation& in) { return cmd_errors(in.paths, in.args.count("json") > 0); },
     Lock::none, nullptr, false},
    {"build", "GROUP", "queue a manual job for a group",
     "Queue a manual job for GROUP with its last scanned revisions.",
     [](cxxopts::Options& o) {
       o.add_options()("group", "branch name", cxxopts::value<std::string>());
       o.parse_positional({"group"});
       o.positional_help("GROUP");
     },
     [](const Invocation& in) {
       if (!in.args.count("group")) return usage("build needs a GROUP");
       return cmd_build(in.paths, in.lock, in.args["group"].as<std::string>());
     },
     Lock::wait, nullptr, false},
    {"kill", "JOB", "stop a build or a live instance",
     "Stop a pending/building job or a live instance.", job_argument, on_job<cmd_kill>, Lock::wait,
     nullptr, false},
    {"wake", "JOB", "restart a finished job's live instance",
     "Restart the live instance of a finished job.", job_argument, on_job<cmd_wake>, Lock::wait,
     nullptr, false},
    {"keep", "JOB [--off]", "pin a job (its instance is never killed by the limit)",
     "Pin a job so the instance limit never kills it (--off: unpin).",
     [](cxxopts::Options& o) {
       job_argument(o);
       o.add_options()("off", "unpin");
     },
     [](const Invocation& in) {
       if (!in.args.count("job")) return usage("keep needs a JOB id");
       return cmd_keep(in.paths, in.lock, in.args["job"].as<int64_t>(), in.args.count("off") > 0);
     },
     Lock::wait, nullptr, false},
    {"gc", "", "remove job folders beyond retention",
     "Remove job folders and per-job data beyond keep_per_group.", nullptr,
     [](const Invocation& in) { return cmd_gc(in.paths, in.lock); }, Lock::wait, nullptr, false},
    {"clean", "", "stop everything, forget all jobs (ids continue)",
     "Stop every build, instance and the private nginx; remove jobs/, www/, nginx/; forget all "
     "jobs. Config, mirrors and the job-id sequence stay.",
     nullptr, [](const Invocation& in) { return cmd_clean(in.paths, in.lock); }, Lock::wait,
     "--clean", false},
    {"job-run", "JOB [--hold] [--wake PORT]", "run a job (started by tick)",
     "Run a job (started by tick; not for direct use). --hold: then stay while its instance "
     "lives (a Slurm job); --wake PORT: only start its instance again on PORT, and hold.",
     [](cxxopts::Options& o) {
       job_argument(o);
       o.add_options()("hold", "stay while the instance lives")(
           "wake", "start the instance again on this port", cxxopts::value<int>())(
           "ports", "LO-HI: move the instance to a free port of these if its own is taken",
           cxxopts::value<std::string>());
     },
     [](const Invocation& in) {
       if (!in.args.count("job")) return usage("job-run needs a JOB id");
       int64_t job = in.args["job"].as<int64_t>();
       if (in.args.count("wake"))
         return cmd_job_wake_here(in.paths, job, in.args["wake"].as<int>());
       std::string ports = in.args.count("ports") ? in.args["ports"].as<std::string>() : "";
       return cmd_job_run(in.paths, job, in.args.count("hold") > 0, ports);
     },
     Lock::none, nullptr, true},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(const std::string& name) {
  for (const Command& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

std::string commands_help() {
  std::string out = "Commands:\n";
  std::string aliases;
  for (const Command& c : kCommands) {
    if (c.hidden) continue;
    std::string head = fmt::format("{} {}", c.name, c.args);
    const char* lock = c.lock == Lock::wait ? " (waits for tick.lock)" : "";
    out += fmt::format("  {:<22} {}{}\n", head, c.summary, lock);
    if (c.alias) aliases += fmt::format("{}{}", aliases.empty() ? "" : ", ", c.alias);
  }
  out += "\nRun 'openerp-runbot COMMAND --help' for a command's options.\n";
  out += fmt::format(
      "The original runbot's {} (with --number, --workers, --start-job-id) are accepted as "
      "aliases.\n",
      aliases);
  return out;
}

void add_tick_options(cxxopts::Options& o) {
  o.add_options()("number", "max live instances (overrides runbot.toml)", cxxopts::value<int>())(
      "workers", "max builds at once (overrides runbot.toml)", cxxopts::value<int>())(
      "start-job-id", "raise the job-id sequence to at least N", cxxopts::value<int64_t>())(
      "dry-run",
      "print what a tick would do and why; it fetches into the mirrors (to see the new heads) "
      "but changes nothing else");
}

TickOptions tick_options(const cxxopts::ParseResult& r) {
  TickOptions t;
  if (r.count("number")) t.number = r["number"].as<int>();
  if (r.count("workers")) t.workers = r["workers"].as<int>();
  if (r.count("start-job-id")) t.start_job_id = r["start-job-id"].as<int64_t>();
  t.dry_run = r.count("dry-run") > 0;
  return t;
}

}  // namespace runbot
