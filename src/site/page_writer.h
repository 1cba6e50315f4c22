// Job pages (job/<id>.html) rendered and written on worker threads, so that rendering and file
// creation overlap with reading the history (a full publish of 20,000 jobs).
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

  // `threads` == 0: add() renders and writes the page itself.
  static Result<std::unique_ptr<PageWriter>> start(const Config& config, const Paths& paths,
                                                   std::filesystem::path dir, Mode mode,
                                                   size_t threads);
  ~PageWriter();

  // Queues the page of `job` (a status.json job object); blocks while the queue is full.
  void add(int64_t id, nlohmann::json job);
  // Waits for every queued page. Returns the pages written ("job/<id>.html", id order) or the
  // first error.
  Result<std::vector<std::string>> finish();

 private:
  struct Worker;
  PageWriter(const Config& config, const Paths& paths, std::filesystem::path dir, Mode mode);
  void run(Worker& worker);
  void write_page(Worker& worker, int64_t id, const nlohmann::json& job);

  const Config& config_;
  const Paths& paths_;
  std::filesystem::path dir_;
  Mode mode_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Worker> inline_;  // threads == 0

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<int64_t, nlohmann::json>> queue_;
  bool closing_ = false;
};

}  // namespace runbot
