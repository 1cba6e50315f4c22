// Reading job markers the way reap does: 500 active job folders (runner, instance, steps and
// result markers written by the real writers).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include "bench_util.h"
#include "job/details.h"
#include "job/job_file.h"
#include "site/status_json.h"

namespace runbot::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kActive = 500;

class JobFolders {
 public:
  JobFolders() {
    for (int id = 1; id <= kActive; ++id) {
      fs::path dir = this->dir(id);
      fs::create_directories(dir / "logs");
      ProcessId self{::getpid(), 0};
      check(write_process_marker(dir / marker::kRunner, ProcessMarker{self, kNow, 0}));
      check(write_process_marker(dir / marker::kInstance, ProcessMarker{self, kNow, 8100 + id}));
      std::vector<StepRecord> steps;
      for (const char* name : {"install", "test", "lint"})
        steps.push_back(StepRecord{name, 0, false, 12.5, id % 3, id % 5, kNow - 40, kNow - 20,
                                   fmt::format("logs/{}.log", name)});
      check(write_steps(dir, steps));
      ResultMarker r;
      r.result = id % 7 ? JobResult::ok : JobResult::ko;
      r.note = id % 7 ? "" : "test exited 1";
      r.coverage = 81.5;
      r.started_at = kNow - 60;
      r.finished_at = kNow - 10;
      check(write_result(dir, r));
    }
  }
  Paths paths() const { return Paths{tmp_.path()}; }
  fs::path dir(int id) const { return paths().job(id); }

 private:
  static void check(const Status& st) {
    if (!st) throw std::runtime_error(st.error().message);
  }
  TempDir tmp_;
};

const JobFolders& folders() {
  static JobFolders f;
  return f;
}

void BM_ReadProcessMarkers500(benchmark::State& state) {
  const JobFolders& f = folders();
  for (auto _ : state)
    for (int id = 1; id <= kActive; ++id) {
      auto runner = read_process_marker(f.dir(id) / marker::kRunner);
      auto instance = read_process_marker(f.dir(id) / marker::kInstance);
      if (!runner || !*runner || !instance || !*instance) state.SkipWithError("bad marker");
      benchmark::DoNotOptimize(runner);
    }
  state.SetItemsProcessed(state.iterations() * kActive);
}
BENCHMARK(BM_ReadProcessMarkers500)->Unit(benchmark::kMillisecond);

void BM_ReadResult500(benchmark::State& state) {
  const JobFolders& f = folders();
  for (auto _ : state)
    for (int id = 1; id <= kActive; ++id) {
      auto r = read_result(f.dir(id));
      if (!r || !*r) state.SkipWithError("bad result");
      benchmark::DoNotOptimize(r);
    }
  state.SetItemsProcessed(state.iterations() * kActive);
}
BENCHMARK(BM_ReadResult500)->Unit(benchmark::kMillisecond);

void BM_ReadSteps500(benchmark::State& state) {
  const JobFolders& f = folders();
  for (auto _ : state)
    for (int id = 1; id <= kActive; ++id) {
      auto s = read_steps(f.dir(id));
      if (!s || s->size() != 3) state.SkipWithError("bad steps");
      benchmark::DoNotOptimize(s);
    }
  state.SetItemsProcessed(state.iterations() * kActive);
}
BENCHMARK(BM_ReadSteps500)->Unit(benchmark::kMillisecond);

// What reap reads for a building job whose build ended: runner, result and instance markers,
// then read_job_details (steps + result again).
void BM_ReadAllMarkers500(benchmark::State& state) {
  const JobFolders& f = folders();
  for (auto _ : state)
    for (int id = 1; id <= kActive; ++id) {
      benchmark::DoNotOptimize(read_process_marker(f.dir(id) / marker::kRunner));
      benchmark::DoNotOptimize(read_process_marker(f.dir(id) / marker::kInstance));
      benchmark::DoNotOptimize(read_result(f.dir(id)));
      benchmark::DoNotOptimize(read_steps(f.dir(id)));
      benchmark::DoNotOptimize(read_result(f.dir(id)));
    }
  state.SetItemsProcessed(state.iterations() * kActive);
}
BENCHMARK(BM_ReadAllMarkers500)->Unit(benchmark::kMillisecond);

// What reap stores in a job's row when its build ends (and status shows for building jobs).
void BM_ReadJobDetails500(benchmark::State& state) {
  const JobFolders& f = folders();
  Paths paths = f.paths();
  for (auto _ : state)
    for (int id = 1; id <= kActive; ++id) benchmark::DoNotOptimize(read_job_details(paths, id));
  state.SetItemsProcessed(state.iterations() * kActive);
}
BENCHMARK(BM_ReadJobDetails500)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace runbot::bench
