// One tick's SQLite work on a file DB seeded like a big user: 3 projects x 1,000 branches
// (+ fork duplicates), 1,000 groups, 20,000 jobs.
#include <benchmark/benchmark.h>

#include "bench_db.h"
#include "tick/record.h"

namespace runbot::bench {
namespace {

constexpr size_t kBranches = 1000;
constexpr size_t kJobs = 20000;

SeededState& seeded() {
  static SeededState s = seeded_state(kBranches, kBranches, kJobs);
  return s;
}

void BM_DbOpen(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) benchmark::DoNotOptimize(Db::open(s.paths.db()));
}
BENCHMARK(BM_DbOpen)->Unit(benchmark::kMicrosecond);

// scan's transaction when no branch moved: every remote's heads compared, nothing written.
void BM_DbReplaceBranchesUnchanged(benchmark::State& state) {
  SeededState& s = seeded();
  std::map<std::pair<std::string, std::string>, std::vector<BranchHead>> by_remote;
  std::vector<std::pair<std::string, std::string>> configured;
  for (const BranchHead& h : s.heads) by_remote[{h.project, h.remote}].push_back(h);
  for (auto& [key, heads] : by_remote) configured.push_back(key);
  for (auto _ : state) {
    Db::Transaction tx(*s.db);
    for (auto& [key, heads] : by_remote) {
      s.db->replace_branches(key.first, key.second, heads, kNow);
      s.db->set_remote_status(RemoteStatus{key.first, key.second, true, "", kNow});
    }
    s.db->retain_remotes(configured);
    tx.commit();
  }
  state.counters["heads"] = static_cast<double>(s.heads.size());
}
BENCHMARK(BM_DbReplaceBranchesUnchanged)->Unit(benchmark::kMillisecond);

void BM_DbBranches(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) benchmark::DoNotOptimize(s.db->branches());
}
BENCHMARK(BM_DbBranches)->Unit(benchmark::kMillisecond);

void BM_DbJobsInStatesActive(benchmark::State& state) {
  SeededState& s = seeded();
  size_t n = 0;
  for (auto _ : state) {
    n = s.db->jobs_in_states({JobState::building, JobState::running}).size();
    n += s.db->jobs_in_states({JobState::pending}).size();
  }
  state.counters["rows"] = static_cast<double>(n);
}
BENCHMARK(BM_DbJobsInStatesActive)->Unit(benchmark::kMicrosecond);

void BM_DbGroups(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) benchmark::DoNotOptimize(s.db->groups());
}
BENCHMARK(BM_DbGroups)->Unit(benchmark::kMillisecond);

void BM_DbJobs20000(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) benchmark::DoNotOptimize(s.db->jobs());
}
BENCHMARK(BM_DbJobs20000)->Unit(benchmark::kMillisecond);

void BM_DbJobsForPlanning(benchmark::State& state) {
  SeededState& s = seeded();
  size_t n = 0;
  for (auto _ : state) n = s.db->jobs_for_planning().size();
  state.counters["rows"] = static_cast<double>(n);
}
BENCHMARK(BM_DbJobsForPlanning)->Unit(benchmark::kMillisecond);

void BM_DbJobsToCollect(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) benchmark::DoNotOptimize(s.db->jobs_to_collect(5));
}
BENCHMARK(BM_DbJobsToCollect)->Unit(benchmark::kMillisecond);

// Every read an idle tick makes, in tick order (plan_input, record_plan, reap, launch,
// limit_instances, publish's change check); retention and status_document do not run.
void BM_DbIdleTickReads(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) {
    s.db->raise_next_job_id(1);
    benchmark::DoNotOptimize(plan_input(s.config, *s.db, kNow));  // branches, planning jobs, groups
    benchmark::DoNotOptimize(s.db->groups());                     // record_plan
    benchmark::DoNotOptimize(s.db->jobs_in_states({JobState::building, JobState::running}));
    benchmark::DoNotOptimize(s.db->jobs_in_states({JobState::building, JobState::running}));
    benchmark::DoNotOptimize(s.db->jobs_in_states({JobState::pending}));  // launch
    benchmark::DoNotOptimize(s.db->jobs_in_states({JobState::building, JobState::running}));
    benchmark::DoNotOptimize(s.db->groups());
    benchmark::DoNotOptimize(s.db->groups());  // limit_instances
    benchmark::DoNotOptimize(s.db->jobs_in_states({JobState::running}));
    benchmark::DoNotOptimize(s.db->change_count());  // publish
    benchmark::DoNotOptimize(s.db->meta("published_change"));
  }
}
BENCHMARK(BM_DbIdleTickReads)->Unit(benchmark::kMillisecond);

// The extra reads of a tick where something changed: retention and the status document.
void BM_DbChangedTickReads(benchmark::State& state) {
  SeededState& s = seeded();
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.db->jobs_to_collect(5));
    benchmark::DoNotOptimize(s.db->jobs_changed_since(s.db->change_count() - 2));
    benchmark::DoNotOptimize(s.db->jobs());  // status_document
    benchmark::DoNotOptimize(s.db->groups());
    benchmark::DoNotOptimize(s.db->remote_statuses());
    benchmark::DoNotOptimize(s.db->next_job_id());
  }
}
BENCHMARK(BM_DbChangedTickReads)->Unit(benchmark::kMillisecond);

// record_plan for one new job plus launch moving it to building: two commits on the file.
void BM_DbInsertUpdateJob(benchmark::State& state) {
  static SeededState s = seeded_state(kBranches, kBranches, kJobs);
  std::mt19937_64 rng(5);
  for (auto _ : state) {
    Job j;
    {
      Db::Transaction tx(*s.db);
      j.id = s.db->allocate_job_id();
      j.group = "trunk-feature-17";
      j.revisions = revisions_for(j.group, rng);
      j.fingerprint = fingerprint_of(j.revisions);
      j.reason = "server moved";
      j.created_at = kNow;
      s.db->insert_job(j);
      tx.commit();
    }
    j.state = JobState::building;
    j.started_at = kNow;
    s.db->update_job(j);
  }
}
BENCHMARK(BM_DbInsertUpdateJob)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace runbot::bench
