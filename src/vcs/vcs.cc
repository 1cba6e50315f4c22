#include "vcs/vcs.h"

#include "vcs/bzr.h"
#include "vcs/git.h"
#include "vcs/hg.h"

namespace runbot {

std::unique_ptr<Vcs> make_vcs(const std::string& kind) {
  if (kind == "git") return std::make_unique<GitVcs>();
  if (kind == "hg") return std::make_unique<HgVcs>();
  if (kind == "bzr") return std::make_unique<BzrVcs>();
  return nullptr;
}

}  // namespace runbot
