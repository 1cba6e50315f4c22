// init, run, build and job-run: the commands that set up, drive and feed the tick.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "exec/confined.h"
#include "job/runner.h"
#include "state/state.h"
#include "tick/plan.h"
#include "tick/publish.h"
#include "tick/record.h"
#include "tick/scan.h"
#include "util/atomic_file.h"
#include "util/clock.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// Writes runbot.toml from FILE (validated first) or the commented default; never overwrites.
std::optional<int> write_initial_config(const Paths& paths, const std::string& config_file) {
  std::error_code ec;
  std::string text = default_config_text();
  if (!config_file.empty()) {
    auto content = read_file(config_file);
    if (!content) {
      fmt::print(stderr, "openerp-runbot: {}\n", content.error().message);
      return 1;
    }
    auto parsed = parse_config(*content, fs::path(config_file).filename().string());
    if (!parsed) {
      fmt::print(stderr, "{}\n", parsed.error().message);
      return 2;
    }
    text = *content;
  }
  if (fs::exists(paths.config(), ec)) {
    auto existing = read_file(paths.config());
    if (!config_file.empty() && (!existing || *existing != text)) {
      fmt::print(stderr,
                 "openerp-runbot: {} already exists and differs from {}; not overwritten (remove "
                 "it first to use {})\n",
                 paths.config().string(), config_file, config_file);
      return 1;
    }
    fmt::print("keeping existing {}\n", paths.config().string());
    return std::nullopt;
  }
  if (auto st = write_file_atomic(paths.config(), text); !st) {
    fmt::print(stderr, "openerp-runbot: {}\n", st.error().message);
    return 1;
  }
  fmt::print("wrote {}\n", paths.config().string());
  return std::nullopt;
}

std::atomic<bool> g_stop{false};
void on_stop_signal(int) { g_stop = true; }

}  // namespace

int cmd_init(const Paths& paths, Lock lock, const std::string& config_file) {
  if (auto st = ensure_layout(paths); !st) {
    fmt::print(stderr, "openerp-runbot: {}\n", st.error().message);
    return 1;
  }
  if (auto failed = write_initial_config(paths, config_file)) return *failed;
  State st;
  if (auto failed = open_config(paths, st)) return *failed;
  auto progress = [](std::string_view line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  // Like a tick: the mirrors under fetch.lock (waiting for a fetching tick), each remote within
  // fetch_timeout, and only then tick.lock to record what they hold.
  Fetched fetched;
  fetch_remotes(st.config, paths, true, fetched, progress);
  if (auto failed = open_locked(paths, lock, st)) return *failed;
  st.db->raise_next_job_id(st.config.runbot.start_job_id);
  record_heads(st.config, fetched, *st.db, now());
  const ScanResult& scanned = fetched.result;
  for (const auto& w : scanned.warnings) fmt::print(stderr, "warning: {}\n", w);
  fmt::print("initialized {}: {} projects, {} remotes ({} failed), next job id {}\n",
             paths.root.string(), st.config.projects.size(), scanned.remotes, scanned.failed,
             st.db->next_job_id());
  fmt::print("{}sandbox: {}\n",
             st.config.sandbox.confined() ? "" : "warning: ", sandbox_summary(st.config.sandbox));
  return 0;
}

int cmd_run(const Paths& paths, const TickOptions& options, int interval_seconds) {
  if (interval_seconds < 1) {
    fmt::print(stderr, "openerp-runbot: --interval must be at least 1\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  while (!g_stop) {
    int status = tick(paths, options);
    std::fflush(stdout);
    if (status == 2) return 2;  // a bad config will not fix itself between ticks
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(interval_seconds);
    while (!g_stop && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fmt::print("stopped\n");
  return 0;
}

int cmd_build(const Paths& paths, Lock lock, const std::string& group) {
  State st;
  if (auto failed = open_state(paths, lock, st)) return *failed;
  Time t = now();
  st.db->raise_next_job_id(st.config.runbot.start_job_id);
  Plan plan = make_plan(plan_input(st.config, *st.db, t, {group}));
  // Only the requested group's decisions: other groups wait for the next tick.
  Plan mine;
  mine.groups = plan.groups;
  for (auto& c : plan.create)
    if (c.group == group) mine.create.push_back(c);
  for (auto& s : plan.skip) {
    auto j = st.db->job(s.job_id);
    if (j && j->group == group) mine.skip.push_back(s);
  }
  if (mine.create.empty()) {
    std::string why = fmt::format("no group named '{}' (known: run 'status')", group);
    for (const auto& n : plan.notes)
      if (n.rfind("cannot build " + group + ":", 0) == 0) why = n;
    fmt::print(stderr, "openerp-runbot: {}\n", why);
    return 1;
  }
  raise_above_job_folders(paths, *st.db);
  std::vector<int64_t> ids = record_plan(mine, *st.db, t);
  fmt::print("queued job {} for {} (manual build); the next tick starts it\n", ids.front(), group);
  return 0;
}

int cmd_job_run(const Paths& paths, int64_t job, bool hold, const std::string& ports) {
  int lo = 0, hi = 0;
  if (!ports.empty() && std::sscanf(ports.c_str(), "%d-%d", &lo, &hi) != 2) {
    fmt::print(stderr, "openerp-runbot: --ports must be LO-HI\n");
    return 2;
  }
  int status = run_job(paths, job, lo, hi);
  if (hold) hold_instance(paths, job);
  return status;
}

int cmd_job_wake_here(const Paths& paths, int64_t job, int port) {
  auto config = load_config(paths.config());
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 2;
  }
  auto instance = start_instance(paths, job, port, instance_url(config->runbot, job));
  if (!instance) {
    fmt::print(stderr, "cannot wake job {}: {}\n", job, instance.error().message);
    return 1;
  }
  hold_instance(paths, job);
  return 0;
}

}  // namespace runbot
