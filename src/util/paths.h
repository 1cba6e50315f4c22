// The state directory's fixed layout (SPEC "State directory"). Nothing here ever contains a
// branch name.
#pragma once
#include <cstdint>
#include <filesystem>

namespace runbot {

struct Paths {
  std::filesystem::path root;

  std::filesystem::path config() const { return root / "runbot.toml"; }
  std::filesystem::path db() const { return root / "runbot.db"; }
  std::filesystem::path lock() const { return root / "tick.lock"; }
  // flock()ed while a command fetches into repos/ (never while holding tick.lock).
  std::filesystem::path fetch_lock() const { return root / "fetch.lock"; }
  std::filesystem::path repos() const { return root / "repos"; }
  std::filesystem::path jobs() const { return root / "jobs"; }
  std::filesystem::path job(int64_t id) const;
  std::filesystem::path www() const { return root / "www"; }
  std::filesystem::path nginx() const { return root / "nginx"; }
  // Mirror of one project; project names are validated [a-z0-9_-]+.
  std::filesystem::path mirror(const std::string& project) const;
};

// --dir, else $RUNBOT_DIR, else the current directory; made absolute.
Paths resolve_paths(const std::string& dir_option);

// Folder holding templates and examples: $RUNBOT_SHARE, <binary>/../share/openerp-runbot,
// the configured install dir, or the source tree's share/ (first that exists).
std::filesystem::path share_dir();

}  // namespace runbot
