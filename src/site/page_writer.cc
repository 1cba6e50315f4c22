#include "site/page_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "site/template.h"
#include "site/view.h"
#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kQueueLimit = 64;  // pages waiting: bounds memory, whatever the history

// A new file in a folder nobody reads yet: no temp file, no rename, no sync (the caller syncs
// the folder once before it becomes visible).
Status write_new_file(const fs::path& file, std::string_view content) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Error{fmt::format("cannot write {}: {}", file.string(), strerror(errno))};
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Error{fmt::format("cannot write {}: {}", file.string(), strerror(e))};
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0)
    return Error{fmt::format("cannot write {}: {}", file.string(), strerror(errno))};
  return {};
}

}  // namespace

struct PageWriter::Worker {
  Template tmpl;
  std::vector<int64_t> written;
  std::optional<Error> error;
};

PageWriter::PageWriter(const Config& config, const Paths& paths, fs::path dir, Mode mode)
    : config_(config), paths_(paths), dir_(std::move(dir)), mode_(mode) {}

Result<std::unique_ptr<PageWriter>> PageWriter::start(const Config& config, const Paths& paths,
                                                      fs::path dir, Mode mode, size_t threads) {
  std::unique_ptr<PageWriter> writer(new PageWriter(config, paths, std::move(dir), mode));
  // Each thread renders with its own copy of the template: rendering keeps state in it.
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    auto tmpl = load_template("job.html.mustache");
    if (!tmpl) return tmpl.error();
    auto worker = std::make_unique<Worker>(Worker{std::move(*tmpl), {}, {}});
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

void PageWriter::write_page(Worker& worker, int64_t id, const json& job) {
  if (worker.error) return;
  try {
    std::string html = worker.tmpl.render(job_view(config_, paths_, job));
    fs::path file = dir_ / fmt::format("{}.html", id);
    if (mode_ == Mode::fresh) {
      if (auto st = write_new_file(file, html); !st)
        worker.error = st.error();
      else
        worker.written.push_back(id);
    } else if (auto wrote = write_file_if_changed(file, html, Sync::later); !wrote) {
      worker.error = wrote.error();
    } else if (*wrote) {
      worker.written.push_back(id);
    }
  } catch (const std::exception& e) {
    worker.error = Error{fmt::format("job {}: cannot render its page: {}", id, e.what())};
  }
}

void PageWriter::run(Worker& worker) {
  for (;;) {
    std::pair<int64_t, json> item;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();
    write_page(worker, item.first, item.second);
  }
}

void PageWriter::add(int64_t id, json job) {
  if (inline_) return write_page(*inline_, id, job);
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < kQueueLimit; });
    queue_.emplace_back(id, std::move(job));
  }
  changed_.notify_all();
}

Result<std::vector<std::string>> PageWriter::finish() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (inline_) workers_.push_back(std::move(inline_));
  std::vector<int64_t> ids;
  for (auto& worker : workers_) {
    if (worker->error) return *worker->error;
    ids.insert(ids.end(), worker->written.begin(), worker->written.end());
    worker->written.clear();
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> pages;
  pages.reserve(ids.size());
  for (int64_t id : ids) pages.push_back(fmt::format("job/{}.html", id));
  return pages;
}

}  // namespace runbot
