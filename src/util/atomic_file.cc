#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace runbot {

namespace fs = std::filesystem;

Status write_file_atomic(const fs::path& file, std::string_view content, Sync sync) {
  fs::path tmp = file;
  tmp += fmt::format(".tmp.{}", getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{fmt::format("cannot write {}: {}", tmp.string(), strerror(errno))};
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error{fmt::format("cannot write {}: {}", file.string(), strerror(e))};
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if ((sync == Sync::now && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{fmt::format("cannot write {}: {}", file.string(), strerror(e))};
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Error{fmt::format("cannot rename {} to {}: {}", tmp.string(), file.string(), strerror(e))};
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

Status sync_filesystem(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("cannot open {}: {}", dir.string(), strerror(errno))};
  int rc = ::syncfs(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Error{fmt::format("cannot sync {}: {}", dir.string(), strerror(e))};
  return {};
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
