#include "tick/scan.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace runbot {

namespace {

using Progress = std::function<void(std::string_view)>;

// Fetches the remotes of one project, one thread per distinct URL, within `bound`; a mirror
// found broken after the fetches is rebuilt and every remote fetched once more (in what is
// left of the bound).
void fetch_project(const ProjectConfig& project, const Paths& paths, const FetchBound& bound,
                   const Progress& progress, ProjectHeads& out) {
  out.project = &project;
  out.remotes.assign(project.remotes.size(), RemoteHeads{});
  auto fail_all = [&](const std::string& error) {
    for (size_t i = 0; i < project.remotes.size(); ++i)
      out.remotes[i] = RemoteHeads{project.remotes[i], false, error, {}};
  };
  auto vcs = make_vcs(project.vcs);
  if (!vcs) return fail_all("unknown vcs '" + project.vcs + "'");
  const auto mirror = paths.mirror(project.name);
  if (auto ready = vcs->prepare(project, mirror); !ready) return fail_all(ready.error().message);

  std::map<std::string, size_t> first;  // URL -> index of its first listing
  for (size_t i = 0; i < project.remotes.size(); ++i) first.emplace(project.remotes[i], i);
  for (int round = 0; round < 2; ++round) {
    std::vector<std::thread> threads;
    for (const auto& [url, i] : first) {
      threads.emplace_back([&, i = i, url = url] {
        if (progress) progress(project.name + ": fetching " + url);
        auto start = std::chrono::steady_clock::now();
        out.remotes[i] = vcs->fetch(project, mirror, url, bound);
        if (!progress) return;
        double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const RemoteHeads& r = out.remotes[i];
        progress(r.ok ? fmt::format("{}: {}: {} branches ({:.1f} s)", project.name, url,
                                    r.heads.size(), took)
                      : fmt::format("{}: {}: failed: {}", project.name, url, r.error));
      });
    }
    for (auto& t : threads) t.join();
    bool any_failed = false;
    for (const auto& [url, i] : first) any_failed |= !out.remotes[i].ok;
    if (!vcs->finish(project, mirror, any_failed)) break;
  }
  for (size_t i = 0; i < project.remotes.size(); ++i)
    if (size_t f = first[project.remotes[i]]; f != i) out.remotes[i] = out.remotes[f];
}

}  // namespace

void fetch_remotes(const Config& config, const Paths& paths, bool wait, Fetched& out,
                   const Progress& progress) {
  auto locked = LockFile::lock(paths.fetch_lock(), wait, out.lock);
  if (!locked || *locked == LockFile::Outcome::busy) {
    // Busy: another tick is fetching and will record what it finds. Unusable (say a
    // read-only state dir): the tick goes on with the heads it knows, and says so.
    out.skipped = true;
    if (!locked) out.result.warnings.push_back("remotes not fetched: " + locked.error().message);
    return;
  }
  std::mutex progress_mutex;
  Progress locked_progress = nullptr;
  if (progress)
    locked_progress = [&](std::string_view line) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(line);
    };
  // One bound for the whole fetch: every remote runs at once, so each gets all of it.
  const FetchBound bound = FetchBound::from_now(config.runbot.fetch_timeout);
  out.projects.resize(config.projects.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < config.projects.size(); ++i)
    threads.emplace_back([&, i] {
      fetch_project(config.projects[i], paths, bound, locked_progress, out.projects[i]);
    });
  for (auto& t : threads) t.join();
  for (const auto& ph : out.projects) {
    for (const auto& r : ph.remotes) {
      ++out.result.remotes;
      if (r.ok) continue;
      ++out.result.failed;
      out.result.warnings.push_back(ph.project->name + ": fetch of " + r.remote +
                                    " failed: " + r.error);
    }
  }
}

void record_heads(const Config& config, const Fetched& fetched, Db& db, Time now) {
  if (fetched.skipped) return;
  std::vector<std::pair<std::string, std::string>> configured;
  for (const auto& project : config.projects)
    for (const auto& remote : project.remotes) configured.emplace_back(project.name, remote);
  Db::Transaction tx(db);
  for (const auto& ph : fetched.projects) {
    for (const auto& r : ph.remotes) {
      if (r.ok) db.replace_branches(ph.project->name, r.remote, r.heads, now);
      db.set_remote_status(RemoteStatus{ph.project->name, r.remote, r.ok, r.error, now});
    }
  }
  db.retain_remotes(configured);
  tx.commit();
}

ScanResult scan(const Config& config, const Paths& paths, Db& db, Time now, bool record,
                const Progress& progress) {
  Fetched fetched;
  fetch_remotes(config, paths, true, fetched, progress);
  if (record) record_heads(config, fetched, db, now);
  return fetched.result;
}

}  // namespace runbot
