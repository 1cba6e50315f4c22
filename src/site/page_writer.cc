#include "site/page_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "site/template.h"
#include "site/view.h"
#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// Jobs in flight: bounds memory, whatever the history.
constexpr size_t kBatchSize = 32;
constexpr size_t kQueueLimit = 4;   // batches not started
constexpr size_t kUnsentLimit = 8;  // finished batches waiting for an earlier one

// Writes all of `content` to `fd` and closes it; an error names `path`.
Status write_and_close(Fd fd, const fs::path& path, std::string_view content) {
  auto fail = [&](int e) {
    return Error{fmt::format("cannot write {}: {}", path.string(), strerror(e))};
  };
  while (!content.empty()) {
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (!fd.close()) return Error{fmt::format("cannot write {}: {}", path.string(), strerror(errno))};
  return {};
}

// Up to ~500 pages are open at once in Mode::fresh (the jobs in flight): more than the usual
// soft limit of 1,024 descriptors leaves room for, so the soft limit is raised toward the hard.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= 4096) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(limit.rlim_max, 4096);
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

struct PageWriter::Worker {
  Template page;
  Template cell;
  Template mini;
  std::optional<Error> error;
};

PageWriter::PageWriter(const Config& config, const Paths& paths, Options options)
    : config_(config), paths_(paths), options_(std::move(options)) {}

Result<std::unique_ptr<PageWriter>> PageWriter::start(const Config& config, const Paths& paths,
                                                      Options options) {
  size_t threads = options.threads;
  std::unique_ptr<PageWriter> writer(new PageWriter(config, paths, std::move(options)));
  const fs::path& dir = writer->options_.dir;
  if (writer->options_.mode == Mode::fresh) {
    writer->dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!writer->dir_fd_)
      return Error{fmt::format("cannot open {}: {}", dir.string(), strerror(errno))};
    raise_open_files_limit();
  }
  // Each thread renders with its own copy of the templates: rendering keeps state in them.
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    auto page = load_template("job.html.mustache");
    if (!page) return page.error();
    auto cell = load_template("job_cell.html.mustache");
    if (!cell) return cell.error();
    auto mini = load_template("job_mini.html.mustache");
    if (!mini) return mini.error();
    auto worker =
        std::make_unique<Worker>(Worker{std::move(*page), std::move(*cell), std::move(*mini), {}});
    if (threads == 0)
      writer->inline_ = std::move(worker);
    else
      writer->workers_.push_back(std::move(worker));
  }
  for (auto& worker : writer->workers_)
    writer->threads_.emplace_back([w = writer.get(), &worker] { w->run(*worker); });
  return writer;
}

PageWriter::~PageWriter() { (void)finish(); }

// On a worker: the job's facts, its page's HTML, line and cells. A fresh page (its file already
// created by add()) is written and closed here, in parallel with the other worker; compared
// pages are left to deliver().
void PageWriter::process(Worker& worker, Batch& batch) {
  for (Task& task : batch.tasks) {
    int64_t id = task.row.job.id;
    try {
      if (worker.error) throw std::runtime_error("not rendered: an earlier job failed");
      JobFacts facts = job_facts(config_, paths_, task.row);
      View view = job_view(config_, paths_, facts);
      if (task.page) {
        std::string html = worker.page.render(view);
        if (task.fd) {
          if (auto st = write_and_close(std::move(task.fd),
                                        options_.dir / fmt::format("{}.html", id), html);
              !st)
            worker.error = st.error();
          else
            batch.written.push_back(id);
        } else {
          batch.pages.emplace_back(id, std::move(html));
        }
      }
      if (task.out) {
        task.out->line = job_line(facts);
        task.out->mini = worker.mini.render(view);
        add_cell_fields(view, facts);
        task.out->cell = worker.cell.render(view);
      }
    } catch (const std::exception& e) {
      if (!worker.error)
        worker.error = Error{fmt::format("job {}: cannot publish it: {}", id, e.what())};
    }
    task.fd.reset();  // not written: an error was found
  }
  batch.tasks.clear();  // frees the rows now, not when the batch is delivered
}

// On the caller's thread: compared pages to disk.
void PageWriter::deliver(Batch& batch) {
  written_.insert(written_.end(), batch.written.begin(), batch.written.end());
  for (const auto& [id, html] : batch.pages) {
    if (error_) break;
    std::string name = fmt::format("{}.html", id);
    if (auto wrote = write_file_if_changed(options_.dir / name, html, Sync::later); !wrote)
      error_ = wrote.error();
    else if (*wrote)
      written_.push_back(id);
  }
  batch.pages.clear();
  batch.written.clear();
}

void PageWriter::run(Worker& worker) {
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    space_.notify_one();
    process(worker, *batch);
    {
      std::lock_guard lock(mutex_);
      batch->done = true;
    }
    done_.notify_all();
  }
}

// Delivers finished batches, oldest first, until at most `keep` are left undelivered (waiting
// for the oldest when needed).
Status PageWriter::drain(size_t keep) {
  while (!unsent_.empty()) {
    std::shared_ptr<Batch> oldest = unsent_.front();
    {
      std::unique_lock lock(mutex_);
      if (unsent_.size() <= keep && !oldest->done) break;
      done_.wait(lock, [&] { return oldest->done; });
    }
    unsent_.pop_front();
    deliver(*oldest);
  }
  if (error_) return *error_;
  return {};
}

Status PageWriter::push_batch() {
  if (!filling_ || filling_->tasks.empty()) return drain(kUnsentLimit);
  {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kQueueLimit; });
    queue_.push_back(filling_);
  }
  work_.notify_one();
  unsent_.push_back(std::move(filling_));
  return drain(kUnsentLimit);
}

Status PageWriter::add(JobRow row, bool page, Rendered* out) {
  if (error_) return *error_;
  if (!filling_) {
    filling_ = std::make_shared<Batch>();
    if (!inline_) filling_->tasks.reserve(kBatchSize);  // inline: one task per batch
  }
  Fd fd;
  if (page && options_.mode == Mode::fresh) {
    // Only the creation is serialised here: one thread creates every file in the folder (two
    // would queue on its lock). Writing the page is the workers' part.
    std::string name = fmt::format("{}.html", row.job.id);
    fd.reset(::openat(dir_fd_.get(), name.c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
      error_ = Error{
          fmt::format("cannot write {}: {}", (options_.dir / name).string(), strerror(errno))};
      return *error_;
    }
  }
  filling_->tasks.push_back(Task{std::move(row), page, out, std::move(fd)});
  if (inline_) {
    std::shared_ptr<Batch> batch = std::move(filling_);
    process(*inline_, *batch);
    deliver(*batch);
    if (error_) return *error_;
    return {};
  }
  if (filling_->tasks.size() >= kBatchSize) return push_batch();
  return {};
}

Result<std::vector<std::string>> PageWriter::finish() {
  Status sent = push_batch();
  if (sent) sent = drain(0);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (!sent) return sent.error();
  if (inline_) workers_.push_back(std::move(inline_));
  for (auto& worker : workers_)
    if (worker->error) return *worker->error;
  std::sort(written_.begin(), written_.end());
  std::vector<std::string> pages;
  pages.reserve(written_.size());
  for (int64_t id : written_) pages.push_back(fmt::format("job/{}.html", id));
  written_.clear();
  return pages;
}

}  // namespace runbot
