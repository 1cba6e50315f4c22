// Applying the nginx config: private nginx start/reload/stop, include-mode reload_command.
#include "site/nginx.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "exec/proc_stat.h"
#include "exec/process.h"
#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kNginxTimeout = 60;

// cron's PATH usually lacks /usr/sbin, where distributions put nginx.
std::string nginx_binary() {
  std::error_code ec;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      if (!dir.empty() && fs::exists(fs::path(dir) / "nginx", ec))
        return (fs::path(dir) / "nginx").string();
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  for (const char* candidate :
       {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"})
    if (fs::exists(candidate, ec)) return candidate;
  return "nginx";
}

std::vector<std::string> nginx_command(const Paths& paths, std::vector<std::string> extra) {
  fs::path dir = paths.nginx();
  std::vector<std::string> argv = {nginx_binary(),
                                   "-p",
                                   dir.string() + "/",
                                   "-c",
                                   (dir / "nginx.conf").string(),
                                   "-e",
                                   (dir / "error.log").string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Run as root, nginx starts (and checks its config) in a private mount namespace holding
// only what its workers may read (see NginxWorkers).
RunOptions nginx_options(const NginxWorkers& w, const Paths& paths) {
  RunOptions o = RunOptions::with_timeout(kNginxTimeout);
  if (!w.staged) return o;
  std::error_code ec;
  for (const fs::path& d : {fs::path(kNginxStage), paths.www(), paths.jobs(), paths.nginx() / "tmp"})
    fs::create_directories(d, ec);
  const std::string stage = kNginxStage;
  o.stage_root = stage;
  o.stage_binds = {{paths.www().string(), stage + "/www"},
                   {paths.jobs().string(), stage + "/jobs"},
                   {(paths.nginx() / "tmp").string(), stage + "/tmp"},
                   {paths.nginx().string(), stage + "/nginx"}};
  o.stage_readonly = {stage + "/www", stage + "/jobs"};
  // The rest of the state dir (runbot.toml, runbot.db, mirrors, markers) is not there at all;
  // the master keeps nginx/ at its own path, for its config, pid file and logs.
  if (paths.nginx().parent_path() == paths.root && paths.root != "/") {
    o.stage_hide = paths.root;
    o.stage_restore = {{stage + "/nginx", paths.nginx().string()}};
  }
  return o;
}

// Runs nginx with `extra` arguments; a failure carries nginx's own message. Without a config,
// it runs in the host's view (only to signal a running nginx).
Status run_nginx(const Paths& paths, const std::vector<std::string>& extra, const char* what,
                 const Config* config = nullptr) {
  RunOptions o = config ? nginx_options(nginx_workers(*config), paths)
                        : RunOptions::with_timeout(kNginxTimeout);
  auto r = run_capture(nginx_command(paths, extra), o);
  if (!r) return Error{fmt::format("cannot {} nginx: {}", what, r.error().message)};
  if (r->exit_code != 0)
    return Error{fmt::format("cannot {} nginx ({}): {}", what,
                             r->timed_out ? "timed out" : fmt::format("exit {}", r->exit_code),
                             trimmed(r->err + r->out))};
  return {};
}

// A file put back to its previous content (or removed) when a change must be undone.
struct Previous {
  fs::path file;
  std::optional<std::string> content;

  static Previous of(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return {file, std::nullopt};
    auto r = read_file(file);
    return {file, r ? std::optional(*r) : std::nullopt};
  }
  void restore() const {
    std::error_code ec;
    if (content)
      (void)write_file_atomic(file, *content);
    else
      fs::remove(file, ec);
  }
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

Status apply_include(const Config& config, const std::string& conf_file, const Previous& previous,
                     std::vector<std::string>& log) {
  const std::string& cmd = config.runbot.reload_command;
  log.push_back(fmt::format("wrote {}", conf_file));
  if (cmd.empty()) return {};
  auto r = run_capture({"/bin/sh", "-c", cmd}, RunOptions::with_timeout(kNginxTimeout));
  if (!r || r->exit_code != 0) {
    previous.restore();
    std::string why =
        !r ? r.error().message
           : fmt::format("{}: {}",
                         r->timed_out ? "timed out" : fmt::format("exit {}", r->exit_code),
                         trimmed(r->err + r->out));
    return Error{
        fmt::format("reload_command `{}` failed ({}); will retry at the next tick", cmd, why)};
  }
  log.push_back(fmt::format("ran reload_command `{}`", cmd));
  return {};
}

}  // namespace

namespace {

// Whether `pid` is this state dir's nginx master: its title names our nginx.conf, and it runs
// as our user in our PID namespace. A title is easy to forge (`exec -a`); a build's processes
// are in their own PID namespace, and run as the build user when the runbot is root.
// The master leads its own process group (nginx daemonizes with setsid): a worker it has just
// forked still bears the master's title until it sets its own, but not its group.
bool is_our_master(const Paths& paths, long pid) {
  ProcStat ps;
  if (pid <= 1 || !read_proc_stat(static_cast<pid_t>(pid), &ps) || is_dead_state(ps.state) ||
      ps.pgrp != pid)
    return false;
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  struct stat st {};
  std::error_code ec;
  if (stat(proc.c_str(), &st) != 0 || st.st_uid != geteuid()) return false;
  if (fs::read_symlink(proc / "ns" / "pid", ec) != fs::read_symlink("/proc/self/ns/pid", ec) || ec)
    return false;
  auto cmdline = read_file(proc / "cmdline");
  return cmdline && cmdline->starts_with("nginx: master process") &&
         cmdline->find((paths.nginx() / "nginx.conf").string()) != std::string::npos;
}

}  // namespace

pid_t private_nginx_pid(const Paths& paths) {
  fs::path pid_file = paths.nginx() / "nginx.pid";
  if (auto text = read_file(pid_file)) {
    char* end = nullptr;
    long pid = std::strtol(text->c_str(), &end, 10);
    if (end != text->c_str() && is_our_master(paths, pid)) return static_cast<pid_t>(pid);
  }
  // The pid file is gone, stale or garbled while our nginx may still run: find the master by
  // its title and write the file back, so that reload and quit (which read it) reach it and
  // no second nginx is started next to it.
  std::error_code ec;
  if (!fs::exists(paths.nginx() / "nginx.conf", ec)) return 0;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    long pid = std::strtol(name.c_str(), nullptr, 10);
    if (!is_our_master(paths, pid)) continue;
    (void)write_file_atomic(pid_file, fmt::format("{}\n", pid));
    return static_cast<pid_t>(pid);
  }
  return 0;
}

Status apply_nginx(const Config& config, const Paths& paths, const std::string& conf,
                   std::vector<std::string>& log) {
  fs::path dir = paths.nginx();
  bool private_mode = config.runbot.nginx == "private";
  fs::path make = private_mode ? dir / "tmp" : dir;
  std::error_code ec;
  fs::create_directories(make, ec);
  if (ec) return Error{fmt::format("cannot create {}: {}", make.string(), ec.message())};
  fs::path conf_file = dir / "runbot.conf";
  Previous previous = Previous::of(conf_file);
  auto changed = write_file_if_changed(conf_file, conf);
  if (!changed) return changed.error();

  if (!private_mode) {
    // As below: reload_command runs again until it has succeeded for this very config.
    const fs::path applied_file = dir / "applied.conf";
    auto applied = read_file(applied_file);
    if (!*changed && applied && *applied == conf) return {};
    auto st = apply_include(config, conf_file.string(), previous, log);
    if (st) (void)write_file_atomic(applied_file, conf);
    return st;
  }

  auto main_conf = render_nginx_main_conf(config, paths);
  if (!main_conf) return main_conf.error();
  Previous previous_main = Previous::of(dir / "nginx.conf");
  auto main_changed = write_file_if_changed(dir / "nginx.conf", *main_conf);
  if (!main_changed) return main_changed.error();
  auto undo = [&](Error e) {
    previous.restore();
    previous_main.restore();
    return e;
  };

  // What nginx last took (a tick killed between writing and reloading leaves the files ahead
  // of it): a difference reloads even when the files compare equal.
  const fs::path applied_file = dir / "applied.conf";
  const std::string applied_text = *main_conf + "\n# --- runbot.conf ---\n" + conf;
  auto applied = read_file(applied_file);
  const bool behind = !applied || *applied != applied_text;
  auto took = [&] { (void)write_file_atomic(applied_file, applied_text); };

  pid_t pid = private_nginx_pid(paths);
  if (pid != 0 && *main_changed) {
    // nginx.conf itself changed (the workers' user, the namespace their paths live in): a
    // reload would keep the old master's view, so nginx is restarted.
    if (auto st = run_nginx(paths, {"-t", "-q"}, "configure", &config); !st) return undo(st.error());
    if (auto st = stop_private_nginx(paths); !st) return st.error();
    log.push_back(fmt::format("stopped nginx (pid {}) to restart it with its new nginx.conf", pid));
    pid = 0;
  }
  if (pid == 0) {
    if (auto st = run_nginx(paths, {"-t", "-q"}, "configure", &config); !st) return undo(st.error());
    if (auto st = run_nginx(paths, {}, "start", &config); !st) return st.error();
    if (!wait_until([&] { return private_nginx_pid(paths) != 0; }, 5s))
      return Error{
          fmt::format("nginx started but is not running; see {}", (dir / "error.log").string())};
    log.push_back(fmt::format("started nginx (pid {}) on port {}", private_nginx_pid(paths),
                              config.runbot.nginx_port));
    took();
    return {};
  }
  if (!*changed && !*main_changed && !behind) return {};
  if (auto st = run_nginx(paths, {"-t", "-q"}, "configure", &config); !st) return undo(st.error());
  if (auto st = run_nginx(paths, {"-s", "reload"}, "reload"); !st) return undo(st.error());
  log.push_back(fmt::format("reloaded nginx (pid {}){}", pid,
                            *changed || *main_changed ? "" : ": it had not taken the current config"));
  took();
  return {};
}

Status stop_private_nginx(const Paths& paths) {
  pid_t pid = private_nginx_pid(paths);
  if (pid == 0) return {};
  auto start = process_start_time(pid);
  ProcessId master{pid, start.value_or(0)};
  auto gone = [&] { return !is_alive(master) && !group_alive(pid); };
  std::error_code ec;
  if (fs::exists(paths.nginx() / "nginx.conf", ec)) (void)run_nginx(paths, {"-s", "quit"}, "stop");
  if (wait_until(gone, 5s)) return {};
  if (!kill_group(master, 2s) || !wait_until(gone, 2s))
    return Error{fmt::format("nginx (pid {}) did not stop", pid)};
  return {};
}

}  // namespace runbot
