// Which process is which: identity by pid + start time, liveness of processes and groups, and
// verified kills of whole groups.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "exec/proc_stat.h"
#include "exec/process.h"
#include "util/fd.h"

namespace runbot {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Parses /proc/<pid>/stat without allocating (also used between fork and exec). The command
// name may contain spaces and ')', so fields are counted after the last ')'.
bool read_proc_stat(pid_t pid, ProcStat* st) {
  char path[32] = "/proc/";
  char digits[16];
  int nd = 0;
  for (unsigned long v = static_cast<unsigned long>(pid); nd == 0 || v > 0; v /= 10)
    digits[nd++] = static_cast<char>('0' + v % 10);
  int pos = 6;
  while (nd > 0) path[pos++] = digits[--nd];
  std::memcpy(path + pos, "/stat", 6);
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd.get(), buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  fd.reset();
  buf[len] = '\0';
  char* p = std::strrchr(buf, ')');
  if (!p) return false;
  ++p;
  // Fields after ')': state is field 3, ppid field 4, pgrp field 5, starttime field 22.
  int field = 2;
  uint64_t value = 0;
  bool in_token = false;
  for (; *p; ++p) {
    if (*p == ' ' || *p == '\n') {
      if (in_token) {
        if (field == 4) st->ppid = static_cast<pid_t>(value);
        if (field == 5) st->pgrp = static_cast<pid_t>(value);
        if (field == 22) {
          st->start_time = value;
          return st->state != 0;
        }
      }
      in_token = false;
      continue;
    }
    if (!in_token) {
      in_token = true;
      ++field;
      value = 0;
      if (field == 3) st->state = *p;
    }
    if (*p >= '0' && *p <= '9') value = value * 10 + static_cast<uint64_t>(*p - '0');
  }
  if (in_token && field == 22) {
    st->start_time = value;
    return st->state != 0;
  }
  return false;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  ProcStat st;
  if (pid <= 0 || !read_proc_stat(pid, &st) || is_dead_state(st.state)) return std::nullopt;
  return st.start_time;
}

ProcessId self_process_id() {
  pid_t pid = getpid();
  return ProcessId{pid, process_start_time(pid).value_or(0)};
}

bool is_alive(const ProcessId& p) {
  auto start = process_start_time(p.pid);
  return start && *start == p.start_time;
}

bool group_alive(pid_t pgid) {
  if (pgid <= 0) return false;
  DIR* dir = opendir("/proc");
  if (!dir) return kill(-pgid, 0) == 0;
  bool found = false;
  while (dirent* e = readdir(dir)) {
    const char* name = e->d_name;
    if (*name < '1' || *name > '9') continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name, nullptr, 10));
    ProcStat st;
    if (read_proc_stat(pid, &st) && st.pgrp == pgid && !is_dead_state(st.state)) {
      found = true;
      break;
    }
  }
  closedir(dir);
  return found;
}

fs::path self_exe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

bool may_signal_group(const ProcessId& p) {
  if (p.pid <= 1 || p.pid == getpid() || p.pid == getpgrp()) return false;
  ProcStat st;
  if (is_alive(p)) return read_proc_stat(p.pid, &st) && st.pgrp == p.pid;
  // Gone: its group may live on (the pid cannot be reused while it does), unless the pid is
  // someone else's now.
  return !process_start_time(p.pid);
}

bool is_namespace_init(const ProcessId& p) {
  if (p.pid <= 1 || !is_alive(p)) return false;
  std::error_code ec;
  auto theirs = fs::read_symlink(fmt::format("/proc/{}/ns/pid", p.pid), ec);
  if (ec) return false;
  auto ours = fs::read_symlink("/proc/self/ns/pid", ec);
  if (ec || theirs == ours) return false;
  // Its own view of itself is pid 1 (NSpid's last field).
  std::ifstream status(fmt::format("/proc/{}/status", p.pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("NSpid:", 0) == 0) return line.size() > 2 && line.substr(line.size() - 2) == "\t1";
  }
  return false;
}

bool kill_group(const ProcessId& p, milliseconds grace) {
  if (p.pid <= 0) return true;
  if (!may_signal_group(p)) return !is_alive(p);
  auto gone = [&] {
    if (is_alive(p)) return false;
    // The pid now names another process: a group with that id is a new one, not p's (the
    // kernel reuses a pid only once no group or session uses it).
    if (process_start_time(p.pid)) return true;
    return !group_alive(p.pid);
  };
  auto signal_group = [&](int sig) {
    if (gone()) return;
    if (kill(-p.pid, sig) != 0 && errno == ESRCH && is_alive(p)) kill(p.pid, sig);
  };
  auto wait_until_gone = [&](milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (!gone()) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kPollStep);
    }
    return true;
  };
  if (gone()) return true;
  signal_group(SIGTERM);
  if (wait_until_gone(grace)) return true;
  signal_group(SIGKILL);
  return wait_until_gone(kKillWait);
}

}  // namespace runbot
