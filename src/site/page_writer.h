// The per-job work of a publish (thousands of jobs for a full one). Worker threads turn each
// job row into its facts, then into what the caller asked for: its page's HTML, and its
// status.json line and index cells (one view serves the page and the cells). Into a fresh
// folder, the caller's thread creates each page's file as it queues the job (one thread creating
// files in the folder) and the workers write it; compared pages are written by the caller's
// thread as batches finish.
#pragma once
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "site/job_facts.h"
#include "state/db.h"
#include "util/fd.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

class PageWriter {
 public:
  // fresh: `dir` is a staging folder nobody reads yet, files are created without a temp file;
  // compare: a page is replaced (atomically) only when its content changed.
  enum class Mode { fresh, compare };
  // What a job renders to besides its page: its status.json line and its index cells.
  struct Rendered {
    std::string line, cell, mini;
  };

  struct Options {
    std::filesystem::path dir;  // the job/ folder
    Mode mode = Mode::compare;
    size_t threads = 0;  // 0: add() does the work itself
  };
  static Result<std::unique_ptr<PageWriter>> start(const Config& config, const Paths& paths,
                                                   Options options);
  ~PageWriter();

  // Queues a job: its page when `page`, its line and cells into `*out` when `out` is given (the
  // caller keeps `*out` alive and untouched until finish()). Blocks while the queue is full. A
  // job that cannot be rendered (unsound row) is an error, returned by a later add() or finish().
  Status add(JobRow row, bool page, Rendered* out);
  // Waits for every queued job and its line. Returns the pages written ("job/<id>.html", id
  // order) or the first error.
  Result<std::vector<std::string>> finish();

 private:
  struct Task {
    JobRow row;
    bool page;
    Rendered* out;
    Fd fd;  // Mode::fresh: its page, created by add(), written and closed by process()
  };
  struct Batch {
    std::vector<Task> tasks;
    std::vector<std::pair<int64_t, std::string>> pages;  // compare: (id, HTML) of each page
    std::vector<int64_t> written;                        // fresh: the pages written
    bool done = false;                                   // guarded by mutex_
  };
  struct Worker;
  PageWriter(const Config& config, const Paths& paths, Options options);
  void run(Worker& worker);
  void process(Worker& worker, Batch& batch);
  void deliver(Batch& batch);
  Status push_batch();
  Status drain(size_t keep);

  const Config& config_;
  const Paths& paths_;
  Options options_;
  Fd dir_fd_;  // Mode::fresh: the staging folder
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Worker> inline_;  // threads == 0

  std::shared_ptr<Batch> filling_;  // handed over whole: one wake-up per batch, not per job
  std::deque<std::shared_ptr<Batch>> unsent_;  // handed over, not yet delivered
  std::vector<int64_t> written_;               // pages written (or changed), by deliver()
  std::optional<Error> error_;                 // the first page that could not be written
  std::mutex mutex_;
  std::condition_variable work_;   // a batch is queued, or closing
  std::condition_variable space_;  // the queue went below its limit
  std::condition_variable done_;   // a batch is done
  std::deque<std::shared_ptr<Batch>> queue_;
  bool closing_ = false;
};

}  // namespace runbot
