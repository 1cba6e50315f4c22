// One flock()ed file guards every state-changing command. The kernel drops the lock when the
// process dies, so a stale lock cannot exist.
#pragma once
#include <filesystem>

#include "util/fd.h"
#include "util/result.h"

namespace runbot {

class LockFile {
 public:
  enum class Outcome { acquired, busy };
  // Tries to lock `file` (created if needed). `wait` blocks until the lock is free.
  static Result<Outcome> lock(const std::filesystem::path& file, bool wait, LockFile& out);
  LockFile() = default;
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  ~LockFile();
  bool held() const { return static_cast<bool>(fd_); }
  void release();

 private:
  Fd fd_;
};

}  // namespace runbot
