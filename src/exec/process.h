// Child processes without a shell: run-and-capture (for VCS commands), detached spawns (for
// job runners and instances), process identity (pid + start time) and group killing.
#pragma once
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <future>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace runbot {

struct RunOptions {
  std::filesystem::path cwd;               // empty = inherit
  std::map<std::string, std::string> env;  // added to / overriding the inherited environment
  int timeout_seconds = 0;                 // 0 = none; on expiry the process group is killed
  // run_to_file only: called with the child's pid (its process-group leader) right after it
  // started, before waiting on it (the job runner records it in step.json). May be null.
  std::function<void(pid_t)> on_start = nullptr;

  // Confinement, applied in the child between fork and exec (see exec/confined.h):
  bool clear_env = false;                       // start from an empty environment, not ours
  std::vector<std::string> join_cgroups;        // cgroup.procs files the child joins
  std::vector<std::pair<int, rlimit>> rlimits;  // setrlimit(first, second)
  int pass_fd = -1;                             // becomes the child's fd 3 (bwrap --info-fd)
  // Set by prepare_to_file: after joining its cgroups the child waits for one byte here (EOF:
  // it leaves without running anything), then does the rest and execs.
  int gate_fd = -1;
  // prepare_to_file only, for a program with a gate of its own (bwrap --block-fd): the child
  // neither joins `join_cgroups` nor waits, it execs at once with the gate as this fd and a
  // write end of the gate as the next one, so that the gate never reads EOF (only the byte
  // run() sends opens it). The parent moves the processes into the cgroups meanwhile
  // (PendingRun::join). -1: the child joins and waits itself.
  int own_gate_fd = -1;
  int gate_hold_fd = -1;  // set by prepare_to_file: that write end
  // Root only: a private mount namespace with a tmpfs at `stage_root` and these directories
  // bind-mounted into it (source, target), so that an unprivileged bwrap can reach them
  // whatever the modes of their parents.
  std::filesystem::path stage_root;
  std::vector<std::pair<std::string, std::string>> stage_binds;
  std::vector<std::string> stage_readonly;  // bind targets remounted read-only
  // Then an empty root-only tmpfs over `stage_hide`, with `stage_restore` (source, target)
  // bound back into it (each target one level below stage_hide).
  std::filesystem::path stage_hide;
  std::vector<std::pair<std::string, std::string>> stage_restore;
  uid_t uid = static_cast<uid_t>(-1);  // setgroups/setgid/setuid to these, if set
  gid_t gid = static_cast<gid_t>(-1);
  bool no_new_privs = false;
  // SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG): a VCS command of a tick
  // that was killed must not go on fetching, unbounded, beside the next tick's fetch.
  bool die_with_parent = false;

  // Options that only set the working directory and/or the timeout.
  static RunOptions in(std::filesystem::path dir, int timeout = 0) {
    RunOptions o;
    o.cwd = std::move(dir);
    o.timeout_seconds = timeout;
    return o;
  }
  static RunOptions with_timeout(int seconds) { return in({}, seconds); }
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

// The guard in front of every group signal: never pid <= 1, never our own process or group,
// and only a live process that still is `p` and leads its group (or `p` gone with its group
// left behind, whose id the kernel cannot have reused).
bool may_signal_group(const ProcessId& p);

// True when `p` is alive and is the init of a PID namespace other than ours (a sandbox's).
bool is_namespace_init(const ProcessId& p);

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
Result<RunOutput> run_to_file(const std::vector<std::string>& argv,
                              const std::filesystem::path& log, const RunOptions& opts,
                              std::chrono::milliseconds grace = std::chrono::seconds(5),
                              const std::function<bool()>& should_stop = nullptr);

// A run_to_file child forked ahead of time, waiting at a gate so that the caller's own work
// (a job's export) overlaps its start. On cgroup v1 every join of a cgroup waits for an RCU
// grace period (5-18 ms measured here), which the wait overlaps too. Either the child joins
// its cgroups and waits in our code, or (RunOptions::own_gate_fd) it execs at once and the
// program waits on the gate itself while we move it into its cgroups from here. run() opens
// the gate and is then run_to_file; a PendingRun dropped without run() runs nothing: the
// child leaves at the gate (or, with an own gate, its group is killed) and is reaped.
class PendingRun {
 public:
  PendingRun() = default;
  PendingRun(PendingRun&& other) noexcept { *this = std::move(other); }
  PendingRun& operator=(PendingRun&& other) noexcept;
  PendingRun(const PendingRun&) = delete;
  PendingRun& operator=(const PendingRun&) = delete;
  ~PendingRun() { cancel(); }

  // The child's pid (the leader of its process group), 0 once run or cancelled.
  pid_t pid() const { return pid_; }
  // Own gate: whether the exec succeeded (waits for it), with the child's reason if not.
  Status exec_status();
  // Own gate: waits until the child is in its cgroups, then moves `more` there too (processes
  // it made since: bwrap's sandbox, waiting on the gate). The gate must not open before.
  Status join(const std::vector<pid_t>& more = {});
  // Opens the gate; `opts` give the timeout and on_start (the rest was fixed at fork).
  Result<RunOutput> run(const RunOptions& opts,
                        std::chrono::milliseconds grace = std::chrono::seconds(5),
                        const std::function<bool()>& should_stop = nullptr);
  // Closes the gate unopened (with an own gate: kills the child's group first) and reaps it.
  void cancel();

 private:
  friend Result<PendingRun> prepare_to_file(const std::vector<std::string>&,
                                            const std::filesystem::path&, const RunOptions&);
  pid_t pid_ = 0;
  Fd report_;  // the child's CLOEXEC report pipe: EOF at exec
  Fd gate_;    // our end of the gate
  std::string program_, log_, cwd_;
  bool own_gate_ = false;
  std::vector<std::string> procs_;  // own gate: the cgroup.procs files we move it into
  std::future<std::string> joining_;  // own gate: moving the child ("" or why not); a join
                                      // can wait 5-18 ms (see above), so it runs meanwhile
  std::string join_error_;
  bool reports_read_ = false;
  std::string exec_error_;  // why the child did not exec ("": it did, or not known yet)
};

// Forks run_to_file's child for argv now (it joins `opts.join_cgroups`, then waits at the
// gate, or with `opts.own_gate_fd` execs at once); `opts.timeout_seconds` and `opts.on_start`
// are taken by run() instead.
Result<PendingRun> prepare_to_file(const std::vector<std::string>& argv,
                                   const std::filesystem::path& log, const RunOptions& opts);

}  // namespace runbot
