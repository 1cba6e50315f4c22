// git, hg and bzr behind one small interface: keep a mirror, fetch each remote, list heads
// with commit times, stream a tar export. Branch names are data: never a shell word, a path
// or an option.
#pragma once
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

class Vcs {
 public:
  virtual ~Vcs() = default;
  // Creates the mirror if needed, fetches every configured remote (pruning deleted branches)
  // and lists the heads of each, in the order of project.remotes. `progress` gets one line
  // per remote (may be null).
  virtual std::vector<RemoteHeads> update(const ProjectConfig& project,
                                          const std::filesystem::path& mirror,
                                          const std::function<void(std::string_view)>& progress) = 0;
  // Streams a tar archive of `rev` (from the mirror) to `sink`.
  virtual Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                            const std::string& remote, const std::string& rev,
                            const TarSink& sink) = 0;
};

// "git", "hg" or "bzr"; nullptr for an unknown kind (config validation prevents it).
std::unique_ptr<Vcs> make_vcs(const std::string& kind);

}  // namespace runbot
