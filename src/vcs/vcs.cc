#include "vcs/vcs.h"

#include "vcs/git.h"

namespace runbot {

std::unique_ptr<Vcs> make_vcs(const std::string& kind) {
  if (kind == "git") return std::make_unique<GitVcs>();
  return nullptr;
}

}  // namespace runbot
