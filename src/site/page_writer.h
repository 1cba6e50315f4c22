// Jobs' views rendered on worker threads: each job's page (job/<id>.html), written to disk, and
// its index cell when the index shows it. Rendering and file creation then overlap with reading
// the history (a full publish of 20,000 jobs), and one view serves both page and cell.
#pragma once
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

class PageWriter {
 public:
  // fresh: `dir` is a staging folder nobody reads yet, files are created without a temp file;
  // compare: a page is replaced (atomically) only when its content changed.
  enum class Mode { fresh, compare };

  // `threads` == 0: add() renders and writes itself.
  static Result<std::unique_ptr<PageWriter>> start(const Config& config, const Paths& paths,
                                                   std::filesystem::path dir, Mode mode,
                                                   size_t threads);
  ~PageWriter();

  // Queues `job` (a status.json job object): its page is written when `page`, its index cell
  // is rendered into `*cell` when `cell` is given (the caller keeps `*cell` alive and untouched
  // until finish()). Blocks while the queue is full.
  void add(int64_t id, nlohmann::json job, bool page, std::string* cell);
  // Waits for every queued job. Returns the pages written ("job/<id>.html", id order) or the
  // first error.
  Result<std::vector<std::string>> finish();

 private:
  struct Task {
    int64_t id;
    nlohmann::json job;
    bool page;
    std::string* cell;
  };
  using Batch = std::vector<Task>;
  struct Worker;
  PageWriter(const Config& config, const Paths& paths, std::filesystem::path dir, Mode mode);
  void run(Worker& worker);
  void render(Worker& worker, const Task& task);
  void push_batch();

  const Config& config_;
  const Paths& paths_;
  std::filesystem::path dir_;
  Mode mode_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Worker> inline_;  // threads == 0

  Batch filling_;  // the producer's batch, handed over whole: one wake-up per batch, not per job
  std::mutex mutex_;
  std::condition_variable work_;   // a batch is queued, or closing
  std::condition_variable space_;  // the queue went below its limit
  std::deque<Batch> queue_;
  bool closing_ = false;
};

}  // namespace runbot
