// The job protocol's files (SPEC "Job protocol"): job.json written by the tick, and the
// markers the runner writes. Every file carries "version"; every write is atomic; every read
// of a truncated or corrupt file is an error naming the file, never a crash.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "exec/confined.h"
#include "exec/process.h"
#include "model.h"
#include "util/atomic_file.h"
#include "util/result.h"

namespace runbot {

constexpr int kJobFileVersion = 1;

// What the runner needs to export one project.
struct JobSource {
  std::string project;
  std::string vcs;
  std::string mirror;  // absolute path of the project's mirror
  std::string remote;
  std::string rev;
  std::string branch;
  bool fallback = false;
};

// jobs/<id>/job.json: a self-contained snapshot, so a config change never alters a queued job.
struct JobSpec {
  int64_t id = 0;
  std::string group;
  std::vector<JobSource> sources;  // project build order
  BuildConfig build;
  int build_timeout = 1800;
  int port = 0;  // 0 = no live instance
  std::string url;
  std::string db_name;      // informational: the runner names databases runbot_<id> itself
  DatabaseConfig database;  // job.json "database"; optional there (absent = sqlite)
  SandboxConfig sandbox;    // job.json "sandbox"; optional there (absent = the default bwrap)
  std::string boot_id;  // job.json "boot_id": the kernel boot the tick launched it in ("" unknown)
};

// Markers are read as untrusted files: regular, not a symlink, at most this size.
constexpr size_t kMaxMarkerBytes = 1 << 20;
// True when a read error says the marker is not such a file: the job is then ko
// ("bad marker <name>"), whoever put it there.
bool is_bad_marker(const Error& e);
// "bad marker instance.json" for such an error.
std::string bad_marker_note(const Error& e);

// jobs/<id>/runner.json, step.json and instance.json: a process we started.
struct ProcessMarker {
  ProcessMarker() = default;
  ProcessMarker(ProcessId p, Time started, int port_)
      : process(p), started_at(started), port(port_) {}

  ProcessId process;
  Time started_at = 0;
  int port = 0;  // instance.json only
  // Confined processes (step.json, instance.json): the init of their PID namespace (pid 0 when
  // unconfined), and the cgroups holding them with the mechanism ("cgroup v1", ...).
  ProcessId sandbox;
  std::vector<std::string> cgroups;
  std::string limits;
};

// One finished (or running) step in jobs/<id>/steps.json.
struct StepRecord {
  std::string name;
  int exit = -1;  // -1: killed by signal / timeout / not finished
  bool timed_out = false;
  double seconds = 0;
  int errors = 0;
  int warnings = 0;
  Time started_at = 0;
  Time finished_at = 0;
  std::string log;  // "logs/<name>.log", relative to the job folder
};

// jobs/<id>/result.json: the runner's verdict on the build.
struct ResultMarker {
  JobResult result = JobResult::ko;
  std::string note;  // why ("test exited 1", "timeout in install", "export of addons failed: ...")
  int errors = 0;
  int warnings = 0;
  std::optional<double> coverage;
  std::vector<std::string> artifacts;  // paths relative to the job folder that exist
  Time started_at = 0;
  Time finished_at = 0;
};

Status write_job_spec(const std::filesystem::path& job_dir, const JobSpec& spec);
Result<JobSpec> read_job_spec(const std::filesystem::path& job_dir);
// job.json may have been edited by hand: its project and step names become paths (lower-case
// words; step names may also hold upper case and dots), its patterns become regexes (RE2).
Status check_job_spec(const JobSpec& spec);

// The per-job database settings job `job_dir`'s job.json names (they survive a change of
// runbot.toml), else `fallback` (no job.json: the job never started).
DatabaseConfig database_config_of(const std::filesystem::path& job_dir,
                                  const DatabaseConfig& fallback);

// The marker of a confined process tree, and back.
ProcessMarker marker_of(const Confined& c, Time started_at, int port);
Confined confined_of(const ProcessMarker& m);
// Stops what a marker names, verified (see stop_confined); true when nothing of it is left.
inline bool stop_marked(const ProcessMarker& m,
                        std::chrono::milliseconds grace = std::chrono::seconds(5)) {
  return stop_confined(confined_of(m), grace);
}
inline bool marked_alive(const ProcessMarker& m) { return confined_alive(confined_of(m)); }

Status write_process_marker(const std::filesystem::path& file, const ProcessMarker& m,
                            Sync sync = Sync::now);
// nullopt when the file does not exist; Error when it exists but is unreadable/corrupt.
Result<std::optional<ProcessMarker>> read_process_marker(const std::filesystem::path& file);

Status write_steps(const std::filesystem::path& job_dir, const std::vector<StepRecord>& steps);
Result<std::vector<StepRecord>> read_steps(const std::filesystem::path& job_dir);  // none: empty

Status write_result(const std::filesystem::path& job_dir, const ResultMarker& r);
Result<std::optional<ResultMarker>> read_result(const std::filesystem::path& job_dir);

// Marker file names inside a job folder.
namespace marker {
inline constexpr const char* kJob = "job.json";
inline constexpr const char* kRunner = "runner.json";
inline constexpr const char* kSteps = "steps.json";
inline constexpr const char* kResult = "result.json";
inline constexpr const char* kInstance = "instance.json";
inline constexpr const char* kRunnerLog = "runner.log";
// ProcessMarker of the step running now (its process-group leader), so a tick that finds the
// runner dead can kill the orphaned step group.
inline constexpr const char* kStepProcess = "step.json";
}  // namespace marker

}  // namespace runbot
