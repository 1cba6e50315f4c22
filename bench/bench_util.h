// Shared scaffolding of the benchmarks: temp dirs and generated data shaped like a big user
// (fixed seeds, so every run measures the same input).
#pragma once
#include <fmt/format.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "tick/plan.h"

namespace runbot::bench {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/runbot-bench.XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::vector<std::string> kProjects = {"server", "addons", "web"};
inline const std::vector<std::string> kBases = {"trunk", "6.0"};
constexpr Time kNow = 1'790'000'000;  // a fixed "now" for generated data

// 40 hex digits from the generator.
inline std::string fake_rev(std::mt19937_64& rng) {
  return fmt::format("{:016x}{:016x}{:08x}", rng(), rng(), static_cast<uint32_t>(rng()));
}

// Group names: the bases, then features "trunk-feature-<n>" / "6.0-fix-<n>".
inline std::vector<std::string> group_names(size_t count) {
  std::vector<std::string> out(kBases.begin(), kBases.end());
  for (size_t i = 0; out.size() < count; ++i)
    out.push_back(i % 4 == 3 ? fmt::format("6.0-fix-{}", i) : fmt::format("trunk-feature-{}", i));
  return out;
}

// The three projects, each with one main remote and one team fork (forks rank second).
inline Config big_config() {
  Config c;
  for (const std::string& p : kProjects) {
    ProjectConfig pc;
    pc.name = p;
    pc.remotes = {"/srv/" + p + ".git", "/srv/team/" + p + ".git"};
    pc.base_branches = kBases;
    c.projects.push_back(pc);
  }
  c.build.steps = {{"install", "true", 0}, {"test", "true", 0}};
  return c;
}

// `branches` heads per project. Most branches exist in every project, a tenth only in
// "server" (the others fall back to a base), one in fifty also on the fork; two thirds are
// older than max_age_days, as on a runbot that has been running for years.
inline std::vector<BranchHead> big_heads(const Config& config, size_t branches, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BranchHead> out;
  std::vector<std::string> names = group_names(branches);
  for (size_t pi = 0; pi < config.projects.size(); ++pi) {
    const ProjectConfig& p = config.projects[pi];
    for (size_t i = 0; i < names.size(); ++i) {
      bool own = i < kBases.size() || pi == 0 || i % 10 != 7;
      std::string name = own ? names[i] : fmt::format("{}-only-{}", p.name, i);
      Time age = i < kBases.size() ? 3600 : i % 3 == 0 ? 86400 * 2 : 86400 * 90;
      BranchHead h{p.name, p.remotes[0], name, fake_rev(rng), kNow - age, kNow - age};
      out.push_back(h);
      if (i % 50 == 11) {
        h.remote = p.remotes[1];
        h.rev = fake_rev(rng);
        out.push_back(h);
      }
    }
  }
  return out;
}

// One group's revisions as the planner resolves them when every project has the branch.
inline std::vector<Revision> revisions_for(const std::string& group, std::mt19937_64& rng) {
  std::vector<Revision> out;
  for (const std::string& p : kProjects)
    out.push_back(Revision{p, fake_rev(rng), group, "/srv/" + p + ".git", false});
  return out;
}

// The build details reap stores in a finished job's row (read_job_details' shape).
inline std::string details_json(int64_t id, Time started, Time finished) {
  std::string steps;
  for (const char* name : {"install", "test"})
    steps +=
        fmt::format(R"({}{{"errors":0,"exit":0,"log":"jobs/{}/logs/{}.log","name":"{}",)"
                    R"("seconds":{},"timed_out":false,"warnings":{}}})",
                    steps.empty() ? "" : ",", id, name, name, (finished - started) / 2, id % 3);
  return fmt::format(R"({{"artifacts":[],"coverage":{},"steps":[{}]}})", id % 2 ? "80.5" : "null",
                     steps);
}

// `count` past jobs spread round-robin over `groups` (ids ascending with time), done with
// mixed results, except the newest few of all which are pending/building/running.
inline std::vector<Job> big_history(const std::vector<std::string>& groups, size_t count,
                                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const JobResult kResults[] = {JobResult::ok,   JobResult::ok, JobResult::ok,
                                       JobResult::warn, JobResult::ko, JobResult::skipped};
  std::vector<Job> out;
  for (size_t i = 0; i < count; ++i) {
    Job j;
    j.id = static_cast<int64_t>(i + 1);
    j.group = groups[i % groups.size()];
    j.revisions = revisions_for(j.group, rng);
    j.fingerprint = fingerprint_of(j.revisions);
    j.reason = fmt::format("server moved {} -> {}", fake_rev(rng).substr(0, 7),
                           j.revisions[0].rev.substr(0, 7));
    j.created_at = kNow - static_cast<Time>(count - i) * 600;
    j.started_at = j.created_at + 5;
    j.finished_at = j.started_at + 300 + static_cast<Time>(rng() % 900);
    j.state = JobState::done;
    j.result = kResults[rng() % std::size(kResults)];
    if (*j.result == JobResult::ko) j.note = "test exited 1";
    size_t from_end = count - i;
    if (from_end <= 4) {
      j.state = JobState::pending;
      j.result.reset();
      j.started_at = j.finished_at = 0;
    } else if (from_end <= 6) {
      j.state = JobState::building;
      j.result.reset();
      j.finished_at = 0;
    } else if (from_end <= 22) {
      j.state = JobState::running;
      j.port = 8100 + static_cast<int>(from_end);
    }
    if (j.state != JobState::pending && j.state != JobState::building)
      j.details = details_json(j.id, j.started_at, j.finished_at);
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace runbot::bench
