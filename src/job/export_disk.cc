#include "job/export_disk.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace runbot {

namespace {

// Files up to this size go to the writer threads, read into memory; at most kQueueBytes of
// them wait there. Each folder's files go to one writer, the next folder's to the next one:
// creating files in one folder is serialised by the kernel (the folder's lock) anyway.
constexpr la_int64_t kSmallFile = 1 << 20;
constexpr size_t kQueueBytes = 16 << 20;
constexpr size_t kWriters = 2;

// `verb name: strerror(errno)`; reads errno before anything else can change it.
Error os_error(const char* verb, std::string_view name) {
  const char* why = strerror(errno);
  return Error{fmt::format("{}{}: {}", verb, name, why)};
}

// The process umask, read without changing it (umask(2) would race with other threads).
mode_t current_umask() {
  if (FILE* f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    unsigned mask = 0;
    bool found = false;
    while (!found && std::fgets(line, sizeof line, f))
      found = std::sscanf(line, "Umask: %o", &mask) == 1;
    std::fclose(f);
    if (found) return static_cast<mode_t>(mask);
  }
  mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

// Runs `make` (a *at() call returning 0, or -1 with errno); an existing non-folder in the way
// is replaced, as a later entry of a tar replaces an earlier one (unlinkat without
// AT_REMOVEDIR never removes a folder).
template <typename Make>
Status replacing(int at, const std::string& name, Make&& make) {
  if (make() == 0) return {};
  if (errno == EEXIST && ::unlinkat(at, name.c_str(), 0) == 0 && make() == 0) return {};
  return os_error("", name);
}

void entry_times(archive_entry* entry, timespec ts[2], bool* has_time) {
  *has_time = archive_entry_mtime_is_set(entry);
  ts[1] = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
  ts[0] = ts[1];
  if (archive_entry_atime_is_set(entry))
    ts[0] = {archive_entry_atime(entry), archive_entry_atime_nsec(entry)};
}

std::string archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

Status write_data(archive* in, archive_entry* entry, int fd, const std::string& name) {
  if (archive_entry_size(entry) <= 0) return {};
  la_int64_t end = 0;
  for (;;) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error{archive_message(in)};
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd, p, size, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return os_error("", name);
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
    end = std::max(end, offset);
  }
  if (end < archive_entry_size(entry) && ::ftruncate(fd, archive_entry_size(entry)) != 0)
    return os_error("", name);  // a sparse file ending in a hole
  return {};
}

}  // namespace

TarParts split_tar_path(std::string_view path) {
  TarParts parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

DiskWriter::DiskWriter(Fd root)
    : root_(std::make_shared<const Fd>(std::move(root))), umask_(current_umask()) {}

DiskWriter::~DiskWriter() { stop_writers(); }

Status DiskWriter::write(archive* in, archive_entry* entry, const TarParts& parts) {
  {
    std::lock_guard lock(mu_);
    if (writer_error_) return *writer_error_;
  }
  std::string path(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) (path += '/') += parts[i];
  // Anything that may meet a queued file (the same path again, a hard link to it) waits
  // until the writers are done.
  bool again = !written_.insert(path).second;
  if (again || archive_entry_hardlink(entry)) {
    if (auto st = drain(); !st) return st;
  }
  Status st = write_entry(in, entry, parts, path, again);
  if (!st) return Error{fmt::format("cannot extract '{}': {}", path, st.error().message)};
  return {};
}

Status DiskWriter::write_entry(archive* in, archive_entry* entry, const TarParts& parts,
                               const std::string& path, bool again) {
  std::string name(parts.back());
  const char* hard = archive_entry_hardlink(entry);
  if (hard) return link(name, hard, parts);
  auto at = folder(parts, parts.size() - 1, true);
  if (!at) return at.error();
  int fd = (*at)->get();
  switch (archive_entry_filetype(entry)) {
    case AE_IFDIR:
      return make_dir(fd, name, entry, parts);
    case AE_IFLNK:
      return replacing(fd, name,
                       [&] { return ::symlinkat(archive_entry_symlink(entry), fd, name.c_str()); });
    default:
      if (!again && archive_entry_size(entry) <= kSmallFile)
        return queue_file(in, entry, std::move(*at), std::move(name), path);
      return write_file(in, entry, fd, name);
  }
}

// Deepest first: a folder's own entries are all written by then, and a parent losing its x
// bit cannot block the way to its children.
Status DiskWriter::finish() {
  Status drained = drain();
  stop_writers();
  if (!drained) return drained;
  std::sort(folders_.begin(), folders_.end(),
            [](const Folder& a, const Folder& b) { return a.parts > b.parts; });
  for (const auto& f : folders_) {
    TarParts parts(f.parts.begin(), f.parts.end());
    auto fd = folder(parts, parts.size(), false);
    Status st = fd ? Status() : Status(fd.error());
    if (st && ::fchmod((*fd)->get(), f.mode) != 0) st = os_error("chmod ", f.parts.back());
    if (st && f.has_time && ::futimens((*fd)->get(), f.times) != 0)
      st = os_error("set times of ", f.parts.back());
    if (!st) return Error{"cannot finish extraction: " + st.error().message};
  }
  fds_.clear();
  names_.clear();
  return {};
}

// The folder at parts[0, n), opened through the chain; created when missing if `create`.
Result<DiskWriter::FdRef> DiskWriter::folder(const TarParts& parts, size_t n, bool create) {
  size_t keep = 0;
  while (keep < n && keep < names_.size() && names_[keep] == parts[keep]) ++keep;
  fds_.resize(keep);
  names_.resize(keep);
  while (names_.size() < n) {
    int at = fds_.empty() ? root_->get() : fds_.back()->get();
    std::string name(parts[names_.size()]);
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(at, name.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(at, name.c_str(), 0777) != 0 && errno != EEXIST) return os_error("", name);
      fd = ::openat(at, name.c_str(), kFlags);
    }
    if (fd < 0) return os_error("folder ", name);    // ELOOP/ENOTDIR for a symlink
    fds_.push_back(std::make_shared<const Fd>(fd));  // owns it from here
    names_.push_back(std::move(name));
  }
  return n == 0 ? root_ : fds_.back();
}

// Created owner-only; the entry's mode comes in finish(), once its entries are written.
Status DiskWriter::make_dir(int at, const std::string& name, archive_entry* entry,
                            const TarParts& parts) {
  if (::mkdirat(at, name.c_str(), 0700) != 0) {
    struct stat st {};
    if (errno != EEXIST || ::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return os_error("", name);
    if (!S_ISDIR(st.st_mode)) {
      if (auto s = replacing(at, name, [&] { return ::mkdirat(at, name.c_str(), 0700); }); !s)
        return s;
    }
  }
  Folder f{{parts.begin(), parts.end()}, archive_entry_perm(entry) & 0777, false, {}};
  entry_times(entry, f.times, &f.has_time);
  folders_.push_back(std::move(f));
  return {};
}

// A hard link to an earlier entry, whose folder is reached through the chain as well.
Status DiskWriter::link(const std::string& name, const char* hard, const TarParts& parts) {
  TarParts target = split_tar_path(hard);
  if (target.empty()) return Error{"hard link to the export folder"};
  std::string target_name(target.back());
  auto target_at = folder(target, target.size() - 1, false);
  if (!target_at) return target_at.error();
  FdRef target_fd = *target_at;  // kept open while the chain moves on below
  auto at = folder(parts, parts.size() - 1, true);
  if (!at) return at.error();
  int fd = (*at)->get();
  return replacing(fd, name, [&] {
    return ::linkat(target_fd->get(), target_name.c_str(), fd, name.c_str(), 0);
  });
}

Status DiskWriter::write_file(archive* in, archive_entry* entry, int at, const std::string& name) {
  mode_t mode = archive_entry_perm(entry) & 0777;
  Fd fd;
  Status st = replacing(at, name, [&] {
    fd.reset(
        ::openat(at, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    return fd ? 0 : -1;
  });
  if (!st) return st;
  timespec ts[2];
  bool has_time = false;
  entry_times(entry, ts, &has_time);
  Status written = write_data(in, entry, fd.get(), name);
  return file_done(std::move(fd), mode, has_time, ts, name, std::move(written));
}

// Mode (open() applied the umask: only then is a chmod needed), times, close.
Status DiskWriter::file_done(Fd fd, mode_t mode, bool has_time, const timespec times[2],
                             const std::string& name, Status st) const {
  if (st && (mode & umask_) != 0 && ::fchmod(fd.get(), mode) != 0) st = os_error("chmod ", name);
  if (st && has_time && ::futimens(fd.get(), times) != 0) st = os_error("set times of ", name);
  if (!fd.close() && st) st = os_error("", name);
  return st;
}

Status DiskWriter::queue_file(archive* in, archive_entry* entry, FdRef at, std::string name,
                              std::string path) {
  FileJob job{std::move(at),
              std::move(name),
              std::move(path),
              archive_entry_perm(entry) & 0777,
              false,
              {},
              {}};
  entry_times(entry, job.times, &job.has_time);
  job.data.resize(static_cast<size_t>(std::max<la_int64_t>(archive_entry_size(entry), 0)));
  for (size_t got = 0; got < job.data.size();) {
    la_ssize_t n = archive_read_data(in, job.data.data() + got, job.data.size() - got);
    if (n < 0) return Error{archive_message(in)};
    if (n == 0) return Error{"archive data ends early"};
    got += static_cast<size_t>(n);
  }
  std::unique_lock lock(mu_);
  room_.wait(lock, [&] { return queued_bytes_ < kQueueBytes || writer_error_; });
  if (writer_error_) return {};  // reported by the next write() or finish()
  if (writers_.empty()) {
    queues_.resize(kWriters);
    for (size_t i = 0; i < kWriters; ++i) writers_.emplace_back([this, i] { writer_loop(i); });
  }
  if (job.folder.get() != last_folder_) {
    last_folder_ = job.folder.get();
    next_writer_ = (next_writer_ + 1) % kWriters;
  }
  queued_bytes_ += job.data.size();
  ++queued_;
  queues_[next_writer_].push_back(std::move(job));
  work_.notify_all();
  return {};
}

void DiskWriter::writer_loop(size_t index) {
  auto& queue = queues_[index];
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return closing_ || !queue.empty(); });
    if (closing_) return;
    FileJob job = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    int at = job.folder->get();
    Fd fd;
    Status st = replacing(at, job.name, [&] {  // only something there before the export
      fd.reset(::openat(at, job.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        job.mode));
      return fd ? 0 : -1;
    });
    for (std::string_view rest = job.data; st && !rest.empty();) {
      ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) st = os_error("", job.name);
      if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
    }
    if (fd)
      st = file_done(std::move(fd), job.mode, job.has_time, job.times, job.name, std::move(st));
    job.folder.reset();  // may close the folder: outside the lock
    lock.lock();
    --queued_;
    queued_bytes_ -= job.data.size();
    if (!st && !writer_error_)
      writer_error_ = Error{fmt::format("cannot extract '{}': {}", job.path, st.error().message)};
    room_.notify_all();
  }
}

// Waits until every queued file is written; their first failure, if any.
Status DiskWriter::drain() {
  std::unique_lock lock(mu_);
  room_.wait(lock, [&] { return queued_ == 0 || writer_error_; });
  if (writer_error_) return *writer_error_;
  return {};
}

void DiskWriter::stop_writers() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  work_.notify_all();
  for (auto& t : writers_) t.join();
  writers_.clear();
}

}  // namespace runbot
