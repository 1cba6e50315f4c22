#include "tick/scan.h"

#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "vcs/vcs.h"

namespace runbot {

namespace {

struct ProjectHeads {
  const ProjectConfig* project;
  std::vector<RemoteHeads> remotes;
};

}  // namespace

ScanResult scan(const Config& config, const Paths& paths, Db& db, Time now, bool record,
                const std::function<void(std::string_view)>& progress) {
  ScanResult result;
  std::vector<ProjectHeads> fetched(config.projects.size());
  std::vector<std::pair<std::string, std::string>> configured;
  // Fetch everything first, one thread per project (their mirrors are independent, and the
  // tick's latency is mostly waiting on the VCS): the transaction below stays short.
  std::mutex progress_mutex;
  auto locked_progress = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress(line);
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < config.projects.size(); ++i) {
    const ProjectConfig& project = config.projects[i];
    for (const auto& remote : project.remotes) configured.emplace_back(project.name, remote);
    fetched[i].project = &project;
    threads.emplace_back([&, i] {
      const ProjectConfig& p = config.projects[i];
      if (auto vcs = make_vcs(p.vcs)) {
        fetched[i].remotes = vcs->update(p, paths.mirror(p.name),
                                         progress ? std::function(locked_progress) : nullptr);
      } else {
        for (const auto& remote : p.remotes)
          fetched[i].remotes.push_back(RemoteHeads{remote, false, "unknown vcs '" + p.vcs + "'", {}});
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& ph : fetched) {
    const ProjectConfig& project = *ph.project;
    for (const auto& r : ph.remotes) {
      ++result.remotes;
      if (r.ok) continue;
      ++result.failed;
      result.warnings.push_back(project.name + ": fetch of " + r.remote + " failed: " + r.error);
    }
  }
  if (!record) return result;

  Db::Transaction tx(db);
  for (const auto& ph : fetched) {
    for (const auto& r : ph.remotes) {
      if (r.ok) db.replace_branches(ph.project->name, r.remote, r.heads, now);
      db.set_remote_status(RemoteStatus{ph.project->name, r.remote, r.ok, r.error, now});
    }
  }
  db.retain_remotes(configured);
  tx.commit();
  return result;
}

}  // namespace runbot
