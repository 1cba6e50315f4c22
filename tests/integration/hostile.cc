#include "hostile.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace runbot::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Forks and execs `argv` with stdio on /dev/null, in a new process group (and a new session
// when `session`); returns the child's pid (0 on failure).
pid_t spawn_background(const std::vector<std::string>& argv, bool session) {
  pid_t pid = fork();
  if (pid == 0) {
    if (session)
      setsid();
    else
      setpgid(0, 0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid < 0 ? 0 : pid;
}

// The "NSpid:" line of /proc/<pid>/status: the pid in each nested namespace, outermost first.
std::vector<pid_t> ns_pids(pid_t pid) {
  std::istringstream in(read_text(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("NSpid:")) continue;
    std::istringstream fields(line.substr(6));
    std::vector<pid_t> out;
    for (pid_t p; fields >> p;) out.push_back(p);
    return out;
  }
  return {};
}

// Field 22 (start time) and field 3 (state) of /proc/<pid>/stat; state 0 when it is gone.
std::pair<uint64_t, char> stat_of(pid_t pid) {
  std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  char state = 0;
  uint64_t start = 0;
  for (int i = 3; in >> field && i <= 22; ++i) {
    if (i == 3) state = field[0];
    if (i == 22) start = std::stoull(field);
  }
  return {start, state};
}

// Waits (bounded) for the one process that carries `text` and satisfies `pick`.
pid_t find_process(const std::string& text, const std::function<bool(pid_t)>& pick) {
  for (int i = 0; i < 250; ++i) {
    for (int pid : processes_with(text))
      if (pick(pid)) return pid;
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

constexpr const char* kJoinGroup =
    "import os, sys; os.setpgid(0, int(sys.argv[1])); os.execvp(sys.argv[2], sys.argv[2:])";
constexpr const char* kOwnGroup =
    "import os, sys; os.setpgid(0, 0); os.execvp('sleep', ['sleep', sys.argv[1]])";
// Init of the jail: records each signal it gets, reaps orphans.
constexpr const char* kJailInit = R"(import os, signal, sys, time
def record(sig, frame):
    with open(sys.argv[1], 'a') as f:
        f.write(signal.Signals(sig).name + '\n')
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
          signal.SIGTERM, signal.SIGALRM, signal.SIGPIPE):
    signal.signal(s, record)
open(sys.argv[2], 'w').close()
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.2)
)";

}  // namespace

std::string unique_word(const std::string& what) {
  static int n = 0;
  return fmt::format("hostile{}x{}{}", getpid(), ++n, what);
}

std::string sleep_arg(const std::string& sleeper) { return sleeper.substr(sleeper.find(' ') + 1); }

std::string script_step(const std::string& name, const std::string& script,
                        const std::string& more) {
  return fmt::format(
      "{{ name = \"{}\", run = 'f=\"$RUNBOT_SRC_SERVER/{}\"; [ ! -f \"$f\" ] || sh \"$f\"'{} }}",
      name, script, more);
}

void commit_script(Family& f, const std::string& branch, const std::string& file,
                   const std::string& body) {
  f.server->commit(branch, file, body, "a fork's " + file);
}

void only_trunk(Family& f) {
  for (GitRepo* r : {f.server.get(), f.addons.get(), f.web.get()}) r->delete_branch("6.0");
}

nlohmann::json newest_job(const Family& f, const std::string& group) {
  auto jobs = jobs_of(f.status(), group);
  return jobs.empty() ? nlohmann::json() : jobs[0];
}

fs::path job_dir(const Family& f, const nlohmann::json& job) {
  return f.state / "jobs" / std::to_string(job["id"].get<int64_t>());
}

std::string step_log(const Family& f, const std::string& group, const std::string& step) {
  auto job = newest_job(f, group);
  if (job.is_null()) return "";
  return read_text(job_dir(f, job) / "logs" / (step + ".log"));
}

bool wait_for_file(const fs::path& file, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!fs::exists(file)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

Survivors::~Survivors() {
  if (none_left(text_, fail_ ? seconds_ : 0)) return;
  auto pids = processes_with(text_);
  if (fail_)
    ADD_FAILURE() << pids.size() << " process(es) carrying \"" << text_
                  << "\" outlived what should have ended them (killed now)";
  for (int pid : pids) kill(pid, SIGKILL);
  none_left(text_, 5);
}

PidJail::PidJail() : word_(unique_word("jail")) {
  if (geteuid() != 0) return;  // entering a mount namespace needs root
  pid_t launcher = spawn_background(
      {"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "python3", "-c",
       kJailInit, (dir_ / "signals").string(), (dir_ / "ready").string(), word_},
      true);
  if (!launcher) return;
  init_ = find_process(word_, [](pid_t pid) {
    auto ns = ns_pids(pid);
    return ns.size() == 2 && ns[1] == 1;
  });
  if (!wait_for_file(dir_ / "ready")) init_ = 0;
  // The launcher (unshare) is our child: keep its pid to reap it.
  launcher_ = launcher;
}

PidJail::~PidJail() {
  if (init_ > 0) kill(init_, SIGKILL);  // from outside: ends the namespace and all in it
  kill_and_reap(launcher_);
}

std::vector<std::string> PidJail::prefix() const {
  return {"nsenter", "-t", std::to_string(init_), "-p", "-m", "--"};
}

std::string PidJail::init_signals() const { return read_text(dir_ / "signals"); }

Canary::Canary(const std::vector<std::string>& prefix) : sleeper_(unique_sleep()) {
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), {"python3", "-c", kOwnGroup, sleep_arg(sleeper_)});
  launcher_ = spawn_background(argv, false);
  pid_ = find_process(sleeper_, [](pid_t pid) {
    return read_text(fmt::format("/proc/{}/comm", pid)) == "sleep\n";
  });
  auto ns = ns_pids(pid_);
  inner_ = ns.empty() ? pid_ : ns.back();
  start_ = stat_of(pid_).first;
  EXPECT_NE(pid_, 0) << "the canary did not start";
}

Canary::~Canary() {
  if (alive()) kill(pid_, SIGKILL);
  kill_and_reap(launcher_);
}

bool Canary::alive() const {
  if (pid_ <= 0) return false;
  auto [start, state] = stat_of(pid_);
  return start == start_ && state != 0 && state != 'Z' && state != 'X';
}

std::vector<std::string> Canary::join_group() const {
  return {"python3", "-c", kJoinGroup, std::to_string(inner_)};
}

uint64_t start_time_of(pid_t pid) { return stat_of(pid).first; }

bool port_bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace runbot::test
