// The publish stage at 20,000 retained jobs over 1,000 groups: building the status document,
// a full render into an empty www/, a full re-render that finds every file unchanged, and the
// incremental publish of a tick where one job changed (as publish() calls it).
#include <benchmark/benchmark.h>

#include "bench_db.h"
#include "site/site.h"
#include "status.h"

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

const json& document20k() {
  static json doc = [] {
    SeededState& s = state20k();
    return status_document(s.config, s.paths, *s.db);
  }();
  return doc;
}

void BM_StatusDocument20000(benchmark::State& state) {
  SeededState& s = state20k();
  for (auto _ : state) benchmark::DoNotOptimize(status_document(s.config, s.paths, *s.db));
}
BENCHMARK(BM_StatusDocument20000)->Unit(benchmark::kMillisecond);

// Every page written: what the first tick after `rm -rf www` (or an upgrade) costs.
void BM_PublishFull20000(benchmark::State& state) {
  SeededState& s = state20k();
  const json& doc = document20k();
  size_t written = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(s.paths.www());
    state.ResumeTiming();
    auto r = publish_site(s.config, s.paths, doc, kNow);
    if (!r) state.SkipWithError(r.error().message.c_str());
    written = r ? r->written.size() : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishFull20000)->Unit(benchmark::kMillisecond)->Iterations(2);

// Everything rendered and compared, nothing written (a full publish over an intact site,
// e.g. after a failed publish).
void BM_PublishFullUnchanged20000(benchmark::State& state) {
  SeededState& s = state20k();
  const json& doc = document20k();
  if (auto r = publish_site(s.config, s.paths, doc, kNow); !r)
    state.SkipWithError(r.error().message.c_str());
  size_t written = 0;
  for (auto _ : state) {
    auto r = publish_site(s.config, s.paths, doc, kNow);
    written = r ? r->written.size() : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishFullUnchanged20000)->Unit(benchmark::kMillisecond)->Iterations(3);

// One job's result flips each iteration and publish_site gets it as the only changed job:
// its page, index.html, status.json and its group's badge must be the only files written.
void BM_PublishOneJobChanged20000(benchmark::State& state) {
  SeededState& s = state20k();
  json doc = document20k();
  if (auto r = publish_site(s.config, s.paths, doc, kNow); !r)
    state.SkipWithError(r.error().message.c_str());
  json& newest = doc["jobs"][30];  // newest first: a done job near the top
  std::string original = newest["result"].is_string() ? newest["result"].get<std::string>() : "";
  std::set<int64_t> dirty{newest["id"].get<int64_t>()};
  size_t written = 0;
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    newest["result"] = flip ? (original == "ko" ? "ok" : "ko") : original;
    auto r = publish_site(s.config, s.paths, doc, kNow, &dirty);
    written = r ? r->written.size() : 0;
  }
  state.counters["written"] = static_cast<double>(written);
}
BENCHMARK(BM_PublishOneJobChanged20000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace runbot::bench
