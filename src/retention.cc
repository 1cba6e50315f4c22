#include "retention.h"

#include <algorithm>
#include <map>

namespace runbot {

namespace fs = std::filesystem;

std::vector<int64_t> jobs_to_collect(const std::vector<Job>& jobs, int keep_per_group) {
  std::map<std::string, std::vector<const Job*>> by_group;
  for (const Job& j : jobs) by_group[j.group].push_back(&j);
  std::vector<int64_t> out;
  for (auto& [group, list] : by_group) {
    std::sort(list.begin(), list.end(), [](const Job* a, const Job* b) { return a->id > b->id; });
    for (size_t i = static_cast<size_t>(std::max(keep_per_group, 0)); i < list.size(); ++i)
      if (list[i]->state == JobState::done && !list[i]->pinned) out.push_back(list[i]->id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> collect_garbage(const Config& config, const Paths& paths, Db& db) {
  std::vector<int64_t> removed;
  for (int64_t id : jobs_to_collect(db.jobs(), config.runbot.keep_per_group)) {
    std::error_code ec;
    fs::path dir = paths.job(id);
    if (!fs::exists(dir, ec)) continue;
    fs::remove_all(dir, ec);
    if (!ec) removed.push_back(id);
  }
  return removed;
}

}  // namespace runbot
