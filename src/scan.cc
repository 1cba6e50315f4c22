#include "scan.h"

#include <memory>
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
  std::vector<ProjectHeads> fetched;
  std::vector<std::pair<std::string, std::string>> configured;
  // Fetch everything first: the transaction below stays short.
  for (const auto& project : config.projects) {
    for (const auto& remote : project.remotes) configured.emplace_back(project.name, remote);
    ProjectHeads ph{&project, {}};
    if (auto vcs = make_vcs(project.vcs)) {
      ph.remotes = vcs->update(project, paths.mirror(project.name), progress);
    } else {
      for (const auto& remote : project.remotes)
        ph.remotes.push_back(RemoteHeads{remote, false, "unknown vcs '" + project.vcs + "'", {}});
    }
    for (const auto& r : ph.remotes) {
      ++result.remotes;
      if (r.ok) continue;
      ++result.failed;
      result.warnings.push_back(project.name + ": fetch of " + r.remote + " failed: " + r.error);
    }
    fetched.push_back(std::move(ph));
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
