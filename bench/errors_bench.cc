// Build errors: extraction on a 200 MB log against a plain RE2 scan of it, and the errors
// table's update in a tick where 10 jobs finished, at 2,000 and 200,000 past jobs.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <re2/re2.h>
#include <string.h>
#include <unistd.h>

#include <fstream>

#include "bench_db.h"
#include "job/error_extract.h"
#include "site/errors_page.h"
#include "tick/build_errors.h"
#include "util/fd.h"

namespace runbot::bench {
namespace {

constexpr const char* kError = "ERROR|Traceback";
constexpr const char* kWarning = "WARNING";

// An Odoo test log of 200 MB: INFO lines, a warning every 1,000 lines, an error line every
// 20,000 and a traceback (with the error line that logged it) every 50,000.
const std::filesystem::path& big_log() {
  static TempDir dir;
  static std::filesystem::path file = [] {
    std::filesystem::path f = dir.path() / "test.log";
    std::ofstream out(f, std::ios::binary);
    std::string line;
    size_t written = 0;
    for (int i = 0; written < 200u * 1000 * 1000; ++i) {
      line = fmt::format(
          "2024-05-03 10:{:02}:{:02},{:03} 4821 INFO runbot_7 odoo.modules.loading: "
          "loading module sale_{} ({}/{})\n",
          i / 60 % 60, i % 60, i % 1000, i % 300, i % 300, 300);
      if (i % 1000 == 17)
        line = "2024-05-03 10:12:45,123 4821 WARNING runbot_7 odoo.fields: deprecated\n";
      if (i % 20000 == 33)
        line = fmt::format(
            "2024-05-03 10:12:45,123 4821 ERROR runbot_7 odoo.sql_db: bad query {}\n", i);
      if (i % 50000 == 49)
        line = fmt::format(
            "2024-05-03 10:12:45,123 4821 ERROR runbot_7 odoo.modules.registry: Failed\n"
            "Traceback (most recent call last):\n  File \"/usr/lib/odoo/models.py\", line {}, in "
            "_read\n    raise ValueError(x)\nValueError: expected singleton: res.partner({})\n",
            i % 4000, i);
      out << line;
      written += line.size();
    }
    return f;
  }();
  return file;
}

// The floor: read the file, split it on '\n', run the same two RE2 patterns on each line.
void BM_PlainRe2Scan200MB(benchmark::State& state) {
  const auto& log = big_log();
  RE2 error(kError), warning(kWarning);
  std::string chunk(256 * 1024, '\0'), carry;
  for (auto _ : state) {
    Fd fd(::open(log.c_str(), O_RDONLY));
    int64_t errors = 0, warnings = 0;
    auto line = [&](std::string_view l) {
      if (RE2::PartialMatch(l, error))
        ++errors;
      else if (RE2::PartialMatch(l, warning))
        ++warnings;
    };
    carry.clear();
    for (ssize_t n; (n = ::read(fd.get(), chunk.data(), chunk.size())) > 0;) {
      std::string_view data(chunk.data(), static_cast<size_t>(n));
      for (size_t nl; (nl = data.find('\n')) != std::string_view::npos;
           data.remove_prefix(nl + 1)) {
        if (carry.empty()) {
          line(data.substr(0, nl));
        } else {
          carry.append(data.substr(0, nl));
          line(carry);
          carry.clear();
        }
      }
      carry.append(data);
    }
    if (!carry.empty()) line(carry);
    benchmark::DoNotOptimize(errors + warnings);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(std::filesystem::file_size(log)));
}
BENCHMARK(BM_PlainRe2Scan200MB)->Unit(benchmark::kMillisecond)->Iterations(3);

// What the runner does per step: classification and error extraction in one pass.
void BM_ExtractErrors200MB(benchmark::State& state) {
  const auto& log = big_log();
  LogClassifier classifier(kError, kWarning, "TOTAL.* ([0-9.]+)%");
  size_t errors = 0;
  for (auto _ : state) {
    JobErrors extracted(job_error_context("/srv/runbot/jobs/7"));
    auto counts = extracted.scan_step(classifier, "test", log);
    errors = extracted.errors().size();
    benchmark::DoNotOptimize(counts);
  }
  state.counters["errors"] = static_cast<double>(errors);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(std::filesystem::file_size(log)));
}
BENCHMARK(BM_ExtractErrors200MB)->Unit(benchmark::kMillisecond)->Iterations(3);

// The history of table_update() below: a sixth of the jobs failed, with 3 errors each.
void seed_errors(SeededState& s) {
  Db::Transaction t(*s.db);
  for (const Job& j : s.db->jobs_in_states({JobState::done}))
    if (j.result == JobResult::ko)
      for (int k = 0; k < 3; ++k)
        s.db->insert_job_error(j.id, j.group, fmt::format("{:016x}", (j.id * 7 + k) % 2000),
                               "known", "test", "ERROR something");
  t.commit();
}

// A history where a sixth of the jobs failed, each with 3 errors out of 2,000 known ones;
// then, per iteration, 10 jobs finish (ko with 5 errors each, one of them new; or a pass that
// makes its failed twin flaky) and reap records them.
void table_update(benchmark::State& state, size_t past_jobs) {
  SeededState s = seeded_state(100, 1000, past_jobs);
  seed_errors(s);
  int64_t next = s.db->next_job_id();
  std::vector<Job> twins = s.db->jobs_in_states({JobState::done});
  size_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Job> finished;
    for (int k = 0; k < 10; ++k, ++next) {
      Job j = twins[(round * 10 + static_cast<size_t>(k)) * 7919 % twins.size()];
      j.id = next;
      j.state = JobState::done;
      j.result = k % 5 == 4 ? JobResult::ok : JobResult::ko;
      j.note = "test exited 1";
      j.details = "";
      s.db->insert_job(j);
      std::filesystem::create_directories(s.paths.job(j.id));
      JobErrors errors(job_error_context(s.paths.job(j.id)));
      std::string log;
      for (int e = 0; e < 5; ++e)
        log += fmt::format("ERROR failure {} in round {}\n", e, e == 0 ? round : 0);
      std::ofstream(s.paths.job(j.id) / "test.log") << log;
      LogClassifier c("ERROR", "", "");
      (void)errors.scan_step(c, "test", s.paths.job(j.id) / "test.log");
      (void)errors.write(s.paths.job(j.id));
      finished.push_back(j);
    }
    ++round;
    state.ResumeTiming();
    std::vector<int64_t> changed;
    std::vector<std::string> warnings;
    for (Job& j : finished) {
      record_build_errors(s.paths, *s.db, j, changed, warnings);
      s.db->update_job(j);
    }
    benchmark::DoNotOptimize(changed);
  }
}
void BM_ErrorsTick10Finished2000(benchmark::State& state) { table_update(state, 2000); }
void BM_ErrorsTick10Finished200000(benchmark::State& state) { table_update(state, 200000); }
BENCHMARK(BM_ErrorsTick10Finished2000)->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK(BM_ErrorsTick10Finished200000)->Unit(benchmark::kMillisecond)->Iterations(50);

// errors.html at 200,000 past jobs with 2,000 distinct errors, each in ~50 groups.
void BM_ErrorsPage200000(benchmark::State& state) {
  SeededState s = seeded_state(100, 1000, 200000);
  seed_errors(s);
  std::filesystem::create_directories(s.paths.www());
  for (auto _ : state) {
    std::filesystem::remove(s.paths.www() / "errors.html");
    auto st = publish_errors_page(s.paths, *s.db, Sync::later);
    if (!st) state.SkipWithError(st.error().message.c_str());
  }
  state.counters["bytes"] =
      static_cast<double>(std::filesystem::file_size(s.paths.www() / "errors.html"));
}
BENCHMARK(BM_ErrorsPage200000)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace runbot::bench
