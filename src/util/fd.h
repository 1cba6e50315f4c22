// Fd: the one owner of a file descriptor (as ccache's util/fd.hpp): closed when it goes out of
// scope, moved never copied. Nothing else in the tree calls close() on a descriptor it owns.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace runbot {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int release() { return std::exchange(fd_, -1); }
  // Closes the current descriptor (if any) and owns `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now and says whether close() succeeded (it reports write errors on some file
  // systems): for files that were written. Closing nothing succeeds.
  bool close() {
    if (fd_ < 0) return true;
    return ::close(std::exchange(fd_, -1)) == 0;
  }

 private:
  int fd_ = -1;
};

// Both ends of a new pipe (pipe2 with `flags`); false (errno set) when it cannot be made.
inline bool make_pipe(Fd& read_end, Fd& write_end, int flags = O_CLOEXEC) {
  int fds[2];
  if (::pipe2(fds, flags) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return true;
}

}  // namespace runbot
