#include "util/paths.h"

#include <cstdlib>

namespace runbot {

namespace fs = std::filesystem;

fs::path Paths::job(int64_t id) const { return jobs() / std::to_string(id); }

fs::path Paths::mirror(const std::string& project) const { return repos() / project; }

Paths resolve_paths(const std::string& dir_option) {
  std::string dir = dir_option;
  if (dir.empty()) {
    if (const char* env = std::getenv("RUNBOT_DIR"); env && *env) dir = env;
  }
  fs::path p = dir.empty() ? fs::current_path() : fs::path(dir);
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return Paths{(ec ? p : abs).lexically_normal()};
}

fs::path share_dir() {
  std::error_code ec;
  if (const char* env = std::getenv("RUNBOT_SHARE"); env && *env && fs::is_directory(env, ec))
    return env;
  // Beside the binary (<prefix>/bin -> <prefix>/share/openerp-runbot): a relocated install.
  fs::path beside = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "share" /
                    "openerp-runbot";
  if (!ec && fs::is_directory(beside / "templates", ec)) return beside;
  if (fs::is_directory(RUNBOT_SHARE_DIR "/templates", ec)) return RUNBOT_SHARE_DIR;
  return RUNBOT_SOURCE_SHARE_DIR;
}

}  // namespace runbot
