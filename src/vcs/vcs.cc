#include "vcs/vcs.h"

#include <map>

#include "vcs/bzr.h"
#include "vcs/git.h"
#include "vcs/hg.h"

namespace runbot {

int FetchBound::left() const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                  std::chrono::steady_clock::now())
                .count();
  if (ms <= 0) return 1;
  return static_cast<int>((ms + 999) / 1000);
}

std::vector<RemoteHeads> Vcs::update(const ProjectConfig& project,
                                     const std::filesystem::path& mirror,
                                     const std::function<void(std::string_view)>& progress,
                                     int timeout_seconds) {
  std::vector<RemoteHeads> result;
  if (auto ready = prepare(project, mirror); !ready) {
    for (const auto& url : project.remotes)
      result.push_back(RemoteHeads{url, false, ready.error().message, {}});
    return result;
  }
  for (int round = 0; round < 2; ++round) {
    result.clear();
    std::map<std::string, size_t> fetched;  // URL -> index in result
    bool any_failed = false;
    for (const auto& url : project.remotes) {
      if (auto it = fetched.find(url); it != fetched.end()) {
        result.push_back(result[it->second]);  // the same URL listed twice
        continue;
      }
      if (progress) progress(project.name + ": fetching " + url);
      fetched[url] = result.size();
      result.push_back(fetch(project, mirror, url, FetchBound::from_now(timeout_seconds)));
      any_failed |= !result.back().ok;
    }
    if (!finish(project, mirror, any_failed)) break;
  }
  return result;
}

std::unique_ptr<Vcs> make_vcs(const std::string& kind) {
  if (kind == "git") return std::make_unique<GitVcs>();
  if (kind == "hg") return std::make_unique<HgVcs>();
  if (kind == "bzr") return std::make_unique<BzrVcs>();
  return nullptr;
}

}  // namespace runbot
