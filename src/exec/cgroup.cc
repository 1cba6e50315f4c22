#include "exec/cgroup.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>


namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFolder = "openerp-runbot";

std::string read_small(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_value(const fs::path& p, const std::string& value) {
  std::ofstream out(p);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

// A hierarchy this process belongs to: where it is mounted and our path in it.
struct Hierarchy {
  fs::path mount;
  std::string own;  // "/x/y"
  fs::path base() const { return mount / own.substr(1) / kFolder; }
};

// "memory" -> its v1 hierarchy, "" -> the v2 one; empty mount when absent.
Hierarchy hierarchy(const std::string& controller) {
  Hierarchy h;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash)), post(line.substr(dash + 3));
    std::string id, parent, dev, root, mount, type, source, options;
    pre >> id >> parent >> dev >> root >> mount;
    post >> type >> source >> options;
    if (controller.empty() ? type == "cgroup2" : type == "cgroup") {
      if (!controller.empty() && ("," + options + ",").find("," + controller + ",") ==
                                     std::string::npos)
        continue;
      h.mount = mount;
      break;
    }
  }
  if (h.mount.empty()) return h;
  std::ifstream cg("/proc/self/cgroup");
  while (std::getline(cg, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string list = line.substr(a + 1, b - a - 1);
    bool match = controller.empty() ? line.substr(0, a) == "0" && list.empty()
                                    : ("," + list + ",").find("," + controller + ",") !=
                                          std::string::npos;
    if (match) h.own = line.substr(b + 1);
  }
  if (h.own.empty() || h.own[0] != '/') h.mount.clear();
  return h;
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream s(text);
  std::string w;
  while (s >> w)
    if (w == word) return true;
  return false;
}

// v2 is usable when our cgroup offers memory and pids to a subtree we can create.
bool v2_usable(const Hierarchy& h) {
  if (h.mount.empty()) return false;
  fs::path own = h.mount / h.own.substr(1);
  std::string controllers = read_small(own / "cgroup.controllers");
  if (!has_word(controllers, "memory") || !has_word(controllers, "pids")) return false;
  std::error_code ec;
  fs::create_directories(h.base(), ec);
  if (ec) return false;
  std::string wanted = "+memory +pids";
  if (has_word(controllers, "cpu")) wanted += " +cpu";
  write_value(h.base().parent_path() / "cgroup.subtree_control", wanted);
  write_value(h.base() / "cgroup.subtree_control", wanted);
  std::string enabled = read_small(h.base() / "cgroup.subtree_control");
  return has_word(enabled, "memory") && has_word(enabled, "pids");
}

uint64_t counter(const fs::path& file, const std::string& key) {
  std::istringstream s(read_small(file));
  std::string k;
  uint64_t v = 0;
  while (s >> k >> v)
    if (k == key) return v;
  return 0;
}

}  // namespace

std::string to_string(LimitMechanism m) {
  switch (m) {
    case LimitMechanism::cgroup_v2:
      return "cgroup v2";
    case LimitMechanism::cgroup_v1:
      return "cgroup v1";
    default:
      return "rlimits";
  }
}

LimitMechanism detect_limit_mechanism() {
  if (v2_usable(hierarchy(""))) return LimitMechanism::cgroup_v2;
  Hierarchy mem = hierarchy("memory");
  std::error_code ec;
  if (!mem.mount.empty()) {
    fs::create_directories(mem.base(), ec);
    if (!ec && access(mem.base().c_str(), W_OK) == 0) return LimitMechanism::cgroup_v1;
  }
  return LimitMechanism::rlimits;
}

Result<Cgroup> Cgroup::create(const std::string& name, const Limits& limits) {
  Cgroup g;
  std::error_code ec;
  auto make = [&](const Hierarchy& h) -> Result<fs::path> {
    fs::path dir = h.base() / name;
    fs::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create cgroup {}: {}", dir.string(), ec.message())};
    return dir;
  };
  Hierarchy v2 = hierarchy("");
  if (v2_usable(v2)) {
    auto dir = make(v2);
    if (!dir) return dir.error();
    g.mechanism_ = LimitMechanism::cgroup_v2;
    g.dirs_ = {*dir};
    bool ok = true;
    if (limits.memory) {
      ok &= write_value(*dir / "memory.max", std::to_string(limits.memory));
      write_value(*dir / "memory.swap.max", "0");
    }
    if (limits.pids) ok &= write_value(*dir / "pids.max", std::to_string(limits.pids));
    if (limits.cpus > 0)
      write_value(*dir / "cpu.max",
                  fmt::format("{} 100000", static_cast<long>(std::ceil(limits.cpus * 100000))));
    if (!ok) {
      g.remove();
      return Error{"cannot write the limits of cgroup " + dir->string()};
    }
    return g;
  }
  g.mechanism_ = LimitMechanism::cgroup_v1;
  struct Want {
    const char* controller;
    bool wanted;
  };
  // memory first: members() and oom_killed() read it.
  for (Want w : {Want{"memory", true}, Want{"pids", limits.pids > 0},
                 Want{"cpu", limits.cpus > 0}}) {
    if (!w.wanted) continue;
    Hierarchy h = hierarchy(w.controller);
    if (h.mount.empty()) {
      if (std::string(w.controller) == "memory") return Error{"no cgroup v1 memory hierarchy"};
      continue;
    }
    auto dir = make(h);
    if (!dir) {
      g.remove();
      return dir.error();
    }
    g.dirs_.push_back(*dir);
    bool ok = true;
    std::string c = w.controller;
    if (c == "memory" && limits.memory) {
      ok = write_value(*dir / "memory.limit_in_bytes", std::to_string(limits.memory));
      write_value(*dir / "memory.memsw.limit_in_bytes", std::to_string(limits.memory));
    } else if (c == "pids") {
      ok = write_value(*dir / "pids.max", std::to_string(limits.pids));
    } else if (c == "cpu") {
      ok = write_value(*dir / "cpu.cfs_period_us", "100000") &&
           write_value(*dir / "cpu.cfs_quota_us",
                       std::to_string(static_cast<long>(std::ceil(limits.cpus * 100000))));
    }
    if (!ok) {
      g.remove();
      return Error{fmt::format("cannot write the {} limit of cgroup {}", c, dir->string())};
    }
  }
  return g;
}

Cgroup Cgroup::existing(std::vector<fs::path> dirs, LimitMechanism m) {
  Cgroup g;
  g.mechanism_ = m;
  g.dirs_ = std::move(dirs);
  return g;
}

std::vector<std::string> Cgroup::procs_files() const {
  std::vector<std::string> out;
  for (const auto& d : dirs_) out.push_back((d / "cgroup.procs").string());
  return out;
}

bool Cgroup::oom_killed() const {
  if (dirs_.empty()) return false;
  if (mechanism_ == LimitMechanism::cgroup_v2)
    return counter(dirs_[0] / "memory.events", "oom_kill") > 0;
  return counter(dirs_[0] / "memory.oom_control", "oom_kill") > 0;
}

std::vector<int> Cgroup::members() const {
  std::vector<int> out;
  if (dirs_.empty()) return out;
  std::istringstream s(read_small(dirs_[0] / "cgroup.procs"));
  int pid;
  while (s >> pid) out.push_back(pid);
  return out;
}

bool Cgroup::kill_all() const {
  if (dirs_.empty()) return true;
  if (mechanism_ == LimitMechanism::cgroup_v2) write_value(dirs_[0] / "cgroup.kill", "1");
  for (int round = 0; round < 100; ++round) {
    auto pids = members();
    if (pids.empty()) return true;
    // Every pid read from the group's own procs file is in the group: it is ours to kill.
    for (int pid : pids)
      if (pid > 1 && pid != getpid()) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return members().empty();
}

void Cgroup::remove() const {
  for (const auto& d : dirs_) rmdir(d.c_str());
}

std::vector<std::pair<int, rlimit>> fallback_rlimits(const Limits& limits) {
  std::vector<std::pair<int, rlimit>> out;
  if (limits.memory) {
    rlim_t v = static_cast<rlim_t>(limits.memory);
    out.push_back({RLIMIT_AS, rlimit{v, v}});
  }
  if (limits.pids) {
    rlim_t v = static_cast<rlim_t>(limits.pids);
    out.push_back({RLIMIT_NPROC, rlimit{v, v}});
  }
  return out;
}

}  // namespace runbot
