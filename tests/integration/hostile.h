// Support for the attack tests (hostile_*_test.cc): what a hostile fork's branch would try
// against the runbot, driven through the real binary only (commands, runbot.toml, the state
// dir, status --json, the site), never through the sandbox's internals.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "family.h"

namespace runbot::test {

// A word no other test or process uses ("hostile<pid>x<n><what>"): a secret to plant, a file
// name, a mark to find in a log.
std::string unique_word(const std::string& what);

// The number in unique_sleep(): "sleep N" is the process, N alone its argument in scripts.
std::string sleep_arg(const std::string& sleeper);

// One step running the fork's script server/<script> from its sources (absent: nothing), as
// a branch's own test.sh would be run.
std::string script_step(const std::string& name, const std::string& script,
                        const std::string& more = "");

// Commits `body` (a /bin/sh script) as server/<file> on `branch` of the family's server repo.
void commit_script(Family& f, const std::string& branch, const std::string& file,
                   const std::string& body);

// Removes the 6.0 branches: the family then has the one group trunk (faster, and the only
// job is job 1).
void only_trunk(Family& f);

// The newest job of `group` in status.json (null when none).
nlohmann::json newest_job(const Family& f, const std::string& group);
std::filesystem::path job_dir(const Family& f, const nlohmann::json& job);
// The log of `step` of the newest job of `group` ("" when there is none).
std::string step_log(const Family& f, const std::string& group, const std::string& step);

// Waits up to `seconds` for `file` to exist.
bool wait_for_file(const std::filesystem::path& file, double seconds = 10);

// Fails the test if a process whose command line carries `text` is still alive `seconds`
// after the guard goes out of scope (or when checked), and kills every one of them. A test
// that does not promise their death (kind = "none") uses it with fail = false, to clean up.
class Survivors {
 public:
  explicit Survivors(std::string text, bool fail = true, double seconds = 5)
      : text_(std::move(text)), fail_(fail), seconds_(seconds) {}
  ~Survivors();
  Survivors(const Survivors&) = delete;
  Survivors& operator=(const Survivors&) = delete;

 private:
  std::string text_;
  bool fail_;
  double seconds_;
};

// A PID namespace with its own /proc, entered by the runbot's commands (Launch::prefix), so
// that a runbot that signals every process (kill(-1)), pid 1 or its own group can only hit
// what is inside. Its init (pid 1 inside) records each signal it receives. Destroying the jail
// kills everything in it.
class PidJail {
 public:
  PidJail();
  ~PidJail();
  PidJail(const PidJail&) = delete;
  PidJail& operator=(const PidJail&) = delete;

  bool ok() const { return init_ > 0; }
  pid_t init() const { return init_; }  // its pid 1, as the host sees it
  // nsenter into the jail (PID and mount namespaces).
  std::vector<std::string> prefix() const;
  // The signals its init received, one name per line ("" when none).
  std::string init_signals() const;

 private:
  TempDir dir_;
  std::string word_;
  pid_t launcher_ = 0;  // our child: unshare
  pid_t init_ = 0;      // as this (the host's) namespace sees it
};

// A process owned by the test, in its own process group, that the runbot has no business
// signalling: `sleep N` started through `prefix` (e.g. into a PID jail).
class Canary {
 public:
  explicit Canary(const std::vector<std::string>& prefix = {});
  ~Canary();
  Canary(const Canary&) = delete;
  Canary& operator=(const Canary&) = delete;

  pid_t pid() const { return pid_; }              // in the host's namespace
  pid_t inner_pid() const { return inner_; }      // in its own PID namespace (== pid() on the host)
  uint64_t start_time() const { return start_; }  // /proc/<pid>/stat field 22
  bool alive() const;
  // A prefix putting a command into the canary's process group (same session: the command
  // must be started by this test process): run with it, the runbot's own group is the
  // canary's.
  std::vector<std::string> join_group() const;

 private:
  std::string sleeper_;
  pid_t launcher_ = 0;  // our child (nsenter, or the sleep itself)
  pid_t pid_ = 0;
  pid_t inner_ = 0;
  uint64_t start_ = 0;
};

// Field 22 of /proc/<pid>/stat (what a marker's start_time holds); 0 when it is gone.
uint64_t start_time_of(pid_t pid);

// True when 127.0.0.1:port can be bound now (nothing holds it).
bool port_bindable(int port);

}  // namespace runbot::test
