#include "util/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace runbot {

Result<LockFile::Outcome> LockFile::lock(const std::filesystem::path& file, bool wait,
                                         LockFile& out) {
  out.release();
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error{fmt::format("cannot open {}: {}", file.string(), strerror(errno))};
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Outcome::busy;
    return Error{fmt::format("cannot lock {}: {}", file.string(), strerror(e))};
  }
  out.fd_ = fd;
  return Outcome::acquired;
}

LockFile::~LockFile() { release(); }

void LockFile::release() {
  if (fd_ >= 0) {
    ::close(fd_);  // closing drops the flock
    fd_ = -1;
  }
}

}  // namespace runbot
