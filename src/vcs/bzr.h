// Bazaar, through `brz`. A remote is a branch (one branch, named by the last component of its
// location) or a folder/shared repository holding branches (each named by its path relative
// to the remote, as `brz branches -R` lists them). The mirror holds one shared repository per
// remote, <mirror>/<remote_key>/, with one branch folder per branch named by a hash of the
// branch name, so any of them can export any revision fetched from that remote. A head's
// `rev` is the bzr revision id.
#pragma once
#include <optional>
#include <string_view>

#include "vcs/vcs.h"

namespace runbot {

class BzrVcs : public Vcs {
 public:
  Status prepare(const ProjectConfig& project, const std::filesystem::path& mirror) override;
  RemoteHeads fetch(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& url, const FetchBound& bound) override;
  Status export_tar(const ProjectConfig& project, const std::filesystem::path& mirror,
                    const std::string& remote, const std::string& rev,
                    const TarSink& sink) override;
};

// True for a bzr revision id that is safe to hand to brz: printable ASCII from a strict set,
// no leading '-', no whitespace.
bool is_bzr_revid(std::string_view rev);

// Seconds since the epoch of a brz date such as "2001-09-09 03:46:40 +0200"; nullopt if the
// text is not exactly that shape.
std::optional<Time> parse_bzr_date(std::string_view text);

}  // namespace runbot
