// Durable file writes: write to a temp file in the same folder, fsync, rename.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace runbot {

// Whether a write waits for the data to reach the disk. `later` is for files that can be
// regenerated, whose writer either calls sync_filesystem() once before it records them as
// done, or records the boot_id() they were written in and regenerates them after a reboot.
enum class Sync { now, later };

// Atomically replaces `file` with `content` (temp file + fsync + rename). A crash leaves
// either the old or the new content, never a mix.
// `mode` is the file's mode from its creation on (0600 for files holding a password).
Status write_file_atomic(const std::filesystem::path& file, std::string_view content,
                         Sync sync = Sync::now, int mode = 0644);

// Like write_file_atomic, but does nothing (returns false) when the file already holds exactly
// `content`. Returns true when it wrote.
Result<bool> write_file_if_changed(const std::filesystem::path& file, std::string_view content,
                                   Sync sync = Sync::now);

// A file written piece by piece (buffered) into a temp file beside it. commit() moves it into
// place; destroying it uncommitted removes the temp file, so the old file stays whole.
class StreamedFile {
 public:
  static Result<std::unique_ptr<StreamedFile>> create(const std::filesystem::path& file);
  ~StreamedFile();
  StreamedFile(const StreamedFile&) = delete;
  StreamedFile& operator=(const StreamedFile&) = delete;

  Status write(std::string_view data);
  // Writes out the buffer: the temp file then holds everything written so far.
  Status flush();
  // Flushes, syncs (per `sync`) and renames the temp file over the target.
  Status commit(Sync sync);
  // Removes the temp file; the target is left as it was.
  void discard();
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  StreamedFile(std::filesystem::path file, std::filesystem::path temp, Fd fd);
  std::filesystem::path file_, temp_;
  Fd fd_;
  std::string buffer_;
};

// Flushes the filesystem holding `dir` (syncfs): one wait for many Sync::later writes.
Status sync_filesystem(const std::filesystem::path& dir);

// The running kernel's boot id (/proc/sys/kernel/random/boot_id), nullopt when unreadable.
// Writes not yet synced live in the page cache, which a crashed process cannot lose but a
// reboot can: the boot id tells whether such writes may have been lost.
std::optional<std::string> boot_id();

// Reads a whole file; an error names the file and the reason.
Result<std::string> read_file(const std::filesystem::path& file);

// Reads a file a build may have tampered with: never follows a symlink, never blocks (a FIFO,
// a device), only a regular file of at most `max_bytes`. An error says which of these failed;
// `*not_found` (if given) tells a missing file from the other errors.
Result<std::string> read_untrusted_file(const std::filesystem::path& file, size_t max_bytes,
                                        bool* not_found = nullptr);

}  // namespace runbot
