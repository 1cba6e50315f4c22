// git: one bare mirror per project, each remote under refs/remotes/<key>/ where key is derived
// from the remote's URL (stable across reordering); one for-each-ref lists every head.
#pragma once
#include "vcs/vcs.h"

namespace runbot {

class GitVcs : public Vcs {
 public:
  std::vector<RemoteHeads> update(const ProjectConfig& project, const std::filesystem::path& mirror,
                                  const std::function<void(std::string_view)>& progress) override;
  Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& remote, const std::string& rev,
                    const TarSink& sink) override;
};

// Stable short key naming a remote inside a mirror ("r" + 16 hex digits of a hash of the URL).
std::string remote_key(const std::string& url);

}  // namespace runbot
