#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/fd.h"

namespace runbot {

namespace fs = std::filesystem;

Status write_file_atomic(const fs::path& file, std::string_view content, Sync sync, int mode) {
  fs::path tmp = file;
  tmp += fmt::format(".tmp.{}", getpid());
  ::unlink(tmp.c_str());  // a leftover would keep its mode
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
               static_cast<mode_t>(mode)));
  if (!fd) return Error{fmt::format("cannot write {}: {}", tmp.string(), strerror(errno))};
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      fd.reset();
      ::unlink(tmp.c_str());
      return Error{fmt::format("cannot write {}: {}", file.string(), strerror(e))};
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if ((sync == Sync::now && ::fsync(fd.get()) != 0) || !fd.close()) {
    int e = errno;
    fd.reset();
    ::unlink(tmp.c_str());
    return Error{fmt::format("cannot write {}: {}", file.string(), strerror(e))};
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{
        fmt::format("cannot rename {} to {}: {}", tmp.string(), file.string(), strerror(e))};
  }
  return {};
}

Result<bool> write_file_if_changed(const fs::path& file, std::string_view content, Sync sync) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (!ec && size == content.size()) {
    auto old = read_file(file);
    if (old.ok() && *old == content) return false;
  }
  auto st = write_file_atomic(file, content, sync);
  if (!st) return st.error();
  return true;
}

namespace {

Status write_all(int fd, std::string_view data, const fs::path& shown) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("cannot write {}: {}", shown.string(), strerror(errno))};
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

constexpr size_t kStreamBuffer = 256 * 1024;

}  // namespace

Result<std::unique_ptr<StreamedFile>> StreamedFile::create(const fs::path& file) {
  fs::path tmp = file;
  tmp += fmt::format(".tmp.{}", getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Error{fmt::format("cannot write {}: {}", tmp.string(), strerror(errno))};
  return std::unique_ptr<StreamedFile>(new StreamedFile(file, tmp, std::move(fd)));
}

StreamedFile::StreamedFile(fs::path file, fs::path temp, Fd fd)
    : file_(std::move(file)), temp_(std::move(temp)), fd_(std::move(fd)) {
  buffer_.reserve(kStreamBuffer);
}

StreamedFile::~StreamedFile() { discard(); }

Status StreamedFile::write(std::string_view data) {
  if (!fd_) return Error{fmt::format("{} is already closed", file_.string())};
  if (buffer_.size() + data.size() > kStreamBuffer) {
    if (auto st = flush(); !st) return st;
    if (data.size() > kStreamBuffer) return write_all(fd_.get(), data, file_);
  }
  buffer_.append(data);
  return {};
}

Status StreamedFile::flush() {
  if (!fd_) return Error{fmt::format("{} is already closed", file_.string())};
  auto st = write_all(fd_.get(), buffer_, file_);
  buffer_.clear();
  return st;
}

Status StreamedFile::commit(Sync sync) {
  if (auto st = flush(); !st) return st;
  if ((sync == Sync::now && ::fsync(fd_.get()) != 0) || !fd_.close()) {
    int e = errno;
    fd_.reset();
    discard();
    return Error{fmt::format("cannot write {}: {}", file_.string(), strerror(e))};
  }
  if (::rename(temp_.c_str(), file_.c_str()) != 0) {
    int e = errno;
    discard();
    return Error{
        fmt::format("cannot rename {} to {}: {}", temp_.string(), file_.string(), strerror(e))};
  }
  temp_.clear();
  return {};
}

void StreamedFile::discard() {
  fd_.reset();
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

Status sync_filesystem(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error{fmt::format("cannot open {}: {}", dir.string(), strerror(errno))};
  int rc = ::syncfs(fd.get());
  int e = errno;
  if (rc != 0) return Error{fmt::format("cannot sync {}: {}", dir.string(), strerror(e))};
  return {};
}

std::optional<std::string> boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  if (!std::getline(in, id) || id.empty()) return std::nullopt;
  return id;
}

Result<std::string> read_untrusted_file(const fs::path& file, size_t max_bytes, bool* not_found) {
  if (not_found) *not_found = false;
  Fd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    int e = errno;
    if (e == ENOENT && not_found) *not_found = true;
    if (e == ELOOP) return Error{fmt::format("{} is a symbolic link", file.string())};
    return Error{fmt::format("cannot read {}: {}", file.string(), strerror(e))};
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return Error{fmt::format("cannot read {}: {}", file.string(), strerror(errno))};
  if (!S_ISREG(st.st_mode)) return Error{fmt::format("{} is not a regular file", file.string())};
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Error{fmt::format("{} is over {} bytes", file.string(), max_bytes)};
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{fmt::format("cannot read {}: {}", file.string(), strerror(errno))};
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes)
      return Error{fmt::format("{} is over {} bytes", file.string(), max_bytes)};
  }
  return out;
}

Result<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{fmt::format("cannot read {}: {}", file.string(), strerror(errno))};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{fmt::format("cannot read {}", file.string())};
  return ss.str();
}

}  // namespace runbot
