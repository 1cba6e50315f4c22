// make_plan on a big user's data: 3 projects x 5,000 branches (plus fork duplicates),
// 20,000 past jobs, every group already built at its current revisions (the usual tick) or
// with 1% of the heads moved. The tick gives the planner what Db::jobs_for_planning returns
// (each group's newest job plus pending/building ones); the FullHistory case gives it all.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>

#include "bench_util.h"

namespace runbot::bench {
namespace {

constexpr size_t kBranches = 5000;
constexpr size_t kHistory = 20000;

// A plan input where every buildable group's newest job has its current fingerprint.
PlanInput settled_input() {
  Config config = big_config();
  PlanInput in;
  in.projects = config.projects;
  in.heads = big_heads(config, kBranches, 42);
  in.jobs = big_history(group_names(kBranches), kHistory, 7);
  in.now = kNow;
  in.max_age_days = 30;
  Plan first = make_plan(in);
  int64_t id = static_cast<int64_t>(in.jobs.size());
  for (const JobDecision& d : first.create) {
    Job j;
    j.id = ++id;
    j.group = d.group;
    j.revisions = d.revisions;
    j.fingerprint = d.fingerprint;
    j.state = JobState::done;
    j.result = JobResult::ok;
    j.created_at = kNow - 60;
    in.jobs.push_back(std::move(j));
  }
  for (const Group& g : first.groups) in.known_groups.push_back(g.name);
  return in;
}

// Keeps what Db::jobs_for_planning returns: the newest job of each group, pending, building.
PlanInput planning_jobs_only(PlanInput in) {
  std::map<std::string, int64_t> newest;
  for (const Job& j : in.jobs) newest[j.group] = std::max(newest[j.group], j.id);
  std::erase_if(in.jobs, [&](const Job& j) {
    return newest[j.group] != j.id && j.state != JobState::pending && j.state != JobState::building;
  });
  return in;
}

void BM_PlanNoChange(benchmark::State& state) {
  PlanInput in = planning_jobs_only(settled_input());
  size_t created = 0;
  for (auto _ : state) {
    Plan plan = make_plan(in);
    created = plan.create.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["heads"] = static_cast<double>(in.heads.size());
  state.counters["jobs"] = static_cast<double>(in.jobs.size());
  state.counters["created"] = static_cast<double>(created);
}
BENCHMARK(BM_PlanNoChange)->Unit(benchmark::kMillisecond);

void BM_PlanNoChangeFullHistory(benchmark::State& state) {
  PlanInput in = settled_input();
  for (auto _ : state) benchmark::DoNotOptimize(make_plan(in));
  state.counters["jobs"] = static_cast<double>(in.jobs.size());
}
BENCHMARK(BM_PlanNoChangeFullHistory)->Unit(benchmark::kMillisecond);

void BM_PlanOnePercentMoved(benchmark::State& state) {
  PlanInput in = planning_jobs_only(settled_input());
  std::mt19937_64 rng(99);
  for (size_t i = 0; i < in.heads.size(); i += 100) {
    in.heads[i].rev = fake_rev(rng);
    in.heads[i].seen_at = kNow;
    in.heads[i].commit_time = kNow;
  }
  size_t created = 0;
  for (auto _ : state) {
    Plan plan = make_plan(in);
    created = plan.create.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["created"] = static_cast<double>(created);
}
BENCHMARK(BM_PlanOnePercentMoved)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace runbot::bench
