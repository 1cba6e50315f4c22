// The publish stage at 20,000 jobs over 1,000 groups: the status document, a full render into
// an empty www/ (every slice), a full re-render that finds every file unchanged, and the
// incremental publish of a tick where one job changed (as publish() calls it).
#include <benchmark/benchmark.h>

#include "bench_db.h"
#include "site/job_facts.h"
#include "site/site.h"
#include "site/status_json.h"
#include "site/template.h"
#include "site/view.h"

namespace runbot::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kJobs = 20000;
constexpr size_t kGroups = 1000;

SeededState& state20k() {
  static SeededState s = seeded_state(1000, kGroups, kJobs);
  return s;
}

// status.json's text for the whole history, read row by row from the DB (what
// `status --json --all` streams).
void BM_StatusJson20000(benchmark::State& state) {
  SeededState& s = state20k();
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    auto st = write_status_json(s.config, s.paths, *s.db, kNow, true, [&](std::string_view text) {
      bytes += text.size();
      return Status{};
    });
    if (!st) state.SkipWithError(st.error().message.c_str());
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_StatusJson20000)->Unit(benchmark::kMillisecond);

// Reading the history row by row and making each job's facts (what a page and a cell are
// rendered from) and its status.json line, one thread, nothing else.
void BM_StatusJobs20000(benchmark::State& state) {
  SeededState& s = state20k();
  for (auto _ : state) {
    s.db->for_each_job_row(false, [&](JobRow&& row) {
      benchmark::DoNotOptimize(job_line(job_facts(s.config, s.paths, row)));
      return true;
    });
  }
}
BENCHMARK(BM_StatusJobs20000)->Unit(benchmark::kMillisecond);

// Rendering every job page in memory (view + mustache), one thread, nothing written.
void BM_RenderJobPages20000(benchmark::State& state) {
  SeededState& s = state20k();
  auto tmpl = load_template("job.html.mustache");
  if (!tmpl) return state.SkipWithError(tmpl.error().message.c_str());
  std::vector<JobFacts> jobs;
  s.db->for_each_job_row(false, [&](JobRow&& row) {
    jobs.push_back(job_facts(s.config, s.paths, row));
    return true;
  });
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const JobFacts& job : jobs) bytes += tmpl->render(job_view(s.config, s.paths, job)).size();
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_RenderJobPages20000)->Unit(benchmark::kMillisecond);

// A full render to its end (every slice), from no site yet or over an intact one.
Result<size_t> publish_full(SeededState& s) {
  const std::set<int64_t> nothing;
  size_t written = 0;
  for (const std::set<int64_t>* changed = nullptr;; changed = &nothing) {
    auto r = publish_site(s.config, s.paths, *s.db, kNow, changed);
    if (!r) return r.error();
    written += r->written.size();
    if (r->complete) return written;
  }
}

// Every page written: what the first ticks after `rm -rf www` (or an upgrade) cost.
void BM_PublishFull20000(benchmark::State& state) {
  SeededState& s = state20k();
  size_t written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(s.paths.www());
    state.ResumeTiming();
    auto r = publish_full(s);
    if (!r) state.SkipWithError(r.error().message.c_str());
    written = r ? *r : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishFull20000)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

// Everything rendered and compared, nothing written (a full publish over an intact site,
// e.g. after a failed publish).
void BM_PublishFullUnchanged20000(benchmark::State& state) {
  SeededState& s = state20k();
  if (auto r = publish_full(s); !r) state.SkipWithError(r.error().message.c_str());
  size_t written = 0;
  for (auto _ : state) {
    auto r = publish_full(s);
    written = r ? *r : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishFullUnchanged20000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

// One job's result flips in the DB each iteration and publish_site gets it as the only changed
// job: its page, index.html, status.json, its group's badge and pages are the files written.
void BM_PublishOneJobChanged20000(benchmark::State& state) {
  SeededState& s = state20k();
  if (auto r = publish_full(s); !r) state.SkipWithError(r.error().message.c_str());
  int64_t id = s.db->next_job_id() - 30;  // a done job near the top
  std::optional<Job> job = s.db->job(id);
  if (!job || !job->result) return state.SkipWithError("no finished job to flip");
  JobResult original = *job->result;
  std::set<int64_t> dirty{id};
  size_t written = 0;
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    job->result = flip ? (original == JobResult::ko ? JobResult::ok : JobResult::ko) : original;
    s.db->update_job(*job);
    auto r = publish_site(s.config, s.paths, *s.db, kNow, &dirty);
    written = r ? r->written.size() : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishOneJobChanged20000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace
}  // namespace runbot::bench
