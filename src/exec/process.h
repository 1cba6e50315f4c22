// Child processes without a shell: run-and-capture (for VCS commands), detached spawns (for
// job runners and instances), process identity (pid + start time) and group killing.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace runbot {

struct RunOptions {
  std::filesystem::path cwd;                 // empty = inherit
  std::map<std::string, std::string> env;    // added to / overriding the inherited environment
  int timeout_seconds = 0;                   // 0 = none; on expiry the process group is killed
  // run_to_file only: called with the child's pid (its process-group leader) right after it
  // started, before waiting on it (the job runner records it in step.json). May be null.
  std::function<void(pid_t)> on_start = nullptr;
};

struct RunOutput {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with the given arguments, no shell, stdin /dev/null,
// capturing stdout and stderr. Fails only when the program cannot be started.
Result<RunOutput> run_capture(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Like run_capture but streams stdout to `sink` in chunks instead of keeping it (stderr is
// captured). `sink` returning false stops reading and kills the child.
Result<RunOutput> run_streaming(const std::vector<std::string>& argv, const RunOptions& opts,
                                const std::function<bool(std::string_view)>& sink);

// A process as recorded in markers: a pid alone can be reused, the pair cannot.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/<pid>/stat (clock ticks since boot)
  bool operator==(const ProcessId&) const = default;
};

// Start time of `pid`, or nullopt if there is no such (non-zombie) process.
std::optional<uint64_t> process_start_time(pid_t pid);
// This process's identity.
ProcessId self_process_id();
// True when a process with this pid and start time exists and is not a zombie.
bool is_alive(const ProcessId& p);

// Starts argv fully detached: new session (so its own process group), stdin /dev/null,
// stdout+stderr appended to `log`, reparented away from us (double fork) so it outlives the
// caller and never becomes our zombie. Returns the identity of the started process.
Result<ProcessId> spawn_detached(const std::vector<std::string>& argv,
                                 const std::filesystem::path& log, const RunOptions& opts = {});

// Sends SIGTERM to the process group led by `p` (if `p` is still who we think it is), waits
// up to `grace`, then SIGKILLs the group, and verifies nothing of the group is left.
// Returns true when the group is gone.
bool kill_group(const ProcessId& p, std::chrono::milliseconds grace = std::chrono::seconds(5));

// True when some process still belongs to process group `pgid`.
bool group_alive(pid_t pgid);

// Path of the running binary (/proc/self/exe).
std::filesystem::path self_exe();

}  // namespace runbot

namespace runbot {

// Runs argv as the leader of a new process group, stdin /dev/null, stdout+stderr appended to
// `log`. At the timeout the whole group gets SIGTERM, then SIGKILL after `grace`; the call
// returns only when the group is gone. `should_stop` (may be null) is polled; returning true
// kills the group the same way.
Result<RunOutput> run_to_file(const std::vector<std::string>& argv, const std::filesystem::path& log,
                              const RunOptions& opts,
                              std::chrono::milliseconds grace = std::chrono::seconds(5),
                              const std::function<bool()>& should_stop = nullptr);

}  // namespace runbot
