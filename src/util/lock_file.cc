#include "util/lock_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace runbot {

Result<LockFile::Outcome> LockFile::lock(const std::filesystem::path& file, bool wait,
                                         LockFile& out) {
  out.release();
  Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return Error{fmt::format("cannot open {}: {}", file.string(), strerror(errno))};
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) return Outcome::busy;
    return Error{fmt::format("cannot lock {}: {}", file.string(), strerror(e))};
  }
  out.fd_ = std::move(fd);
  return Outcome::acquired;
}

LockFile::~LockFile() { release(); }

void LockFile::release() { fd_.reset(); }  // closing drops the flock

}  // namespace runbot
