// Mercurial: one mirror folder per project holding one bare repository (no working copy) per
// remote, under <mirror>/<remote_key>/, so every head is attributed to its remote. Branches are
// the open named branches (tipmost open head) and the bookmarks; a bookmark wins over a named
// branch of the same name. Bookmarks are pulled in hg's "mirror" mode, so one deleted or moved
// backwards upstream is deleted or moved here too.
#pragma once
#include "vcs/vcs.h"

namespace runbot {

class HgVcs : public Vcs {
 public:
  Status prepare(const ProjectConfig& project, const std::filesystem::path& mirror) override;
  RemoteHeads fetch(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& url, const FetchBound& bound) override;
  Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& remote, const std::string& rev,
                    const TarSink& sink) override;
};

}  // namespace runbot
