// git, hg and bzr behind one small interface: keep a mirror, fetch each remote, list heads
// with commit times, stream a tar export. Branch names are data: never a shell word, a path
// or an option.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "util/result.h"

namespace runbot {

// Heads of one remote after a fetch attempt. When !ok, `heads` is empty and the caller keeps
// the remote's last known heads.
struct RemoteHeads {
  std::string remote;
  bool ok = true;
  std::string error;
  std::vector<BranchHead> heads;  // project, remote, branch, rev, commit_time set
};

// Receives export bytes in order; returning false aborts the export.
using TarSink = std::function<bool(std::string_view)>;

// How long a remote's fetch may take: every command it runs is killed (its process group) at
// `deadline`; `seconds` is the configured bound, for messages ("timed out after 300 s").
struct FetchBound {
  std::chrono::steady_clock::time_point deadline;
  int seconds = 0;
  static FetchBound from_now(int seconds) {
    return {std::chrono::steady_clock::now() + std::chrono::seconds(seconds), seconds};
  }
  // Whole seconds left for the next command, at least 1 (0 would mean no timeout at all).
  int left() const;
  bool expired() const { return std::chrono::steady_clock::now() >= deadline; }
};

constexpr int kDefaultFetchTimeout = 300;  // [runbot] fetch_timeout's default

class Vcs {
 public:
  virtual ~Vcs() = default;
  // Makes the project's mirror ready for fetches (local work only, no network). An error
  // fails every remote of the project with it.
  virtual Status prepare(const ProjectConfig& project, const std::filesystem::path& mirror) = 0;
  // Fetches one remote into the prepared mirror (pruning deleted branches) and lists its
  // heads. Several remotes of one project may be fetched at once, each on its own thread.
  virtual RemoteHeads fetch(const ProjectConfig& project, const std::filesystem::path& mirror,
                            const std::string& url, const FetchBound& bound) = 0;
  // After every remote of the project was fetched (`any_failed`: one of them failed): local
  // housekeeping; true when the failures were the mirror's fault and it was rebuilt, so every
  // remote should be fetched once more.
  virtual bool finish(const ProjectConfig& /*project*/, const std::filesystem::path& /*mirror*/,
                      bool /*any_failed*/) {
    return false;
  }
  // prepare, fetch each configured remote one after another (a URL listed twice shares the
  // first result), finish: the heads of each, in the order of project.remotes. `progress` gets
  // one line per remote (may be null). Each remote within `timeout_seconds`.
  std::vector<RemoteHeads> update(const ProjectConfig& project, const std::filesystem::path& mirror,
                                  const std::function<void(std::string_view)>& progress,
                                  int timeout_seconds = kDefaultFetchTimeout);
  // Streams a tar archive of `rev` (from the mirror) to `sink`.
  virtual Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                            const std::string& remote, const std::string& rev,
                            const TarSink& sink) = 0;
};

// "git", "hg" or "bzr"; nullptr for an unknown kind (config validation prevents it).
std::unique_ptr<Vcs> make_vcs(const std::string& kind);

}  // namespace runbot
