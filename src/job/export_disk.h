// Writing checked tar entries to disk for job/export: every write goes through *at() calls on
// folder descriptors opened O_NOFOLLOW below the export folder, so the kernel refuses to go
// through a symlink as well as the entry policy. Four syscalls per file (open O_EXCL, write,
// futimens, close), where libarchive's archive_write_disk with SECURE_SYMLINKS lstat()s and
// opens every path component of every entry.
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace runbot {

// A tar path's components, without empty and "." ones.
using TarParts = std::vector<std::string_view>;
TarParts split_tar_path(std::string_view path);

// Writes entries below the folder `root` (an open descriptor it takes over). Keeps the open
// folders of the last entry's parent path, since a tar lists a folder's entries together.
// Small regular files are written by two writer threads (file creation is most of an
// export's time, and it runs up to twice as fast on two cores when the two writers work in
// different folders); folders, links, large files and
// anything replacing an earlier entry are written in order by the caller's thread, after the
// writers are drained when an earlier entry could be involved. Modes are the entry's & 0777
// (umask ignored), times its mtime; folders get both in finish(), like libarchive. Missing
// parent folders are created; a later entry replaces an earlier non-folder at the same path.
class DiskWriter {
 public:
  explicit DiskWriter(Fd root);
  ~DiskWriter();  // abandons queued files (finish() writes them)
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  // Writes one accepted entry (its data read from `in`); `parts` is its non-empty path
  // without "..". A hard link's target must be an earlier entry's relative path. Errors read
  // "cannot extract 'PATH': why", and may be an earlier entry's, written by a writer thread.
  Status write(archive* in, archive_entry* entry, const TarParts& parts);
  // Waits for the writers, then gives the folders their modes and times, deepest first.
  Status finish();

 private:
  using FdRef = std::shared_ptr<const Fd>;  // a folder, shared with its queued files
  struct Folder {
    std::vector<std::string> parts;
    mode_t mode;
    bool has_time;
    timespec times[2];
  };
  struct FileJob {
    FdRef folder;
    std::string name, path;
    mode_t mode;
    bool has_time;
    timespec times[2];
    std::string data;
  };

  Status write_entry(archive* in, archive_entry* entry, const TarParts& parts,
                     const std::string& path, bool again);
  Result<FdRef> folder(const TarParts& parts, size_t n, bool create);
  Status make_dir(int at, const std::string& name, archive_entry* entry, const TarParts& parts);
  Status link(const std::string& name, const char* hard, const TarParts& parts);
  Status write_file(archive* in, archive_entry* entry, int at, const std::string& name);
  Status queue_file(archive* in, archive_entry* entry, FdRef at, std::string name,
                    std::string path);
  Status file_done(Fd fd, mode_t mode, bool has_time, const timespec times[2],
                   const std::string& name, Status st) const;
  void writer_loop(size_t index);
  Status drain();
  void stop_writers();

  FdRef root_;
  mode_t umask_;
  std::vector<std::string> names_;  // the open folder chain below root_
  std::vector<FdRef> fds_;
  std::vector<Folder> folders_;
  std::unordered_set<std::string> written_;  // every entry path so far

  std::mutex mu_;  // guards what follows
  std::condition_variable work_, room_;
  std::vector<std::deque<FileJob>> queues_;  // one per writer
  size_t queued_ = 0;                        // files queued or being written
  size_t queued_bytes_ = 0;
  const Fd* last_folder_ = nullptr;
  size_t next_writer_ = 0;
  bool closing_ = false;
  std::optional<Error> writer_error_;
  std::vector<std::thread> writers_;
};

}  // namespace runbot
