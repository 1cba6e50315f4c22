// git: one bare mirror per project, each remote under refs/remotes/<key>/ where key is derived
// from the remote's URL (stable across reordering); one for-each-ref lists every head.
#pragma once
#include "vcs/vcs.h"

namespace runbot {

class GitVcs : public Vcs {
 public:
  Status prepare(const ProjectConfig& project, const std::filesystem::path& mirror) override;
  RemoteHeads fetch(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& url, const FetchBound& bound) override;
  bool finish(const ProjectConfig& project, const std::filesystem::path& mirror,
              bool any_failed) override;
  Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& remote, const std::string& rev,
                    const TarSink& sink) override;

 private:
  // Whether git itself has vouched for the mirror in this update (prepare found it doubtful
  // and checked it, or finish rebuilt it): then a failed fetch is the remote's fault.
  bool checked_ = false;
};

// Stable short key naming a remote inside a mirror ("r" + 16 hex digits of a hash of the URL).
std::string remote_key(const std::string& url);

}  // namespace runbot
