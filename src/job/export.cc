#include "job/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "job/export_disk.h"
#include "util/fd.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

std::string join(const TarParts& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

bool has_dotdot(const TarParts& parts) {
  return std::find(parts.begin(), parts.end(), "..") != parts.end();
}

// Decides whether an entry may be extracted. Keeps the set of symlinks created so far, so
// nothing is ever written through one.
class EntryPolicy {
 public:
  // Returns the reason for refusing the entry, or "" to accept it. `parts` receives the
  // normalised relative path (views into the entry's pathname).
  std::string check(archive_entry* entry, TarParts& parts) {
    const char* raw = archive_entry_pathname(entry);
    if (!raw || !*raw) return "empty path";
    std::string_view path(raw);
    if (path.front() == '/') return "absolute path";
    parts = split_tar_path(path);
    if (has_dotdot(parts)) return "'..' in path";
    if (parts.empty()) return archive_entry_filetype(entry) == AE_IFDIR ? "" : "empty path";
    for (size_t n = 1; n < parts.size(); ++n) {
      std::string prefix = join(parts, n);
      if (symlinks_.count(prefix)) return fmt::format("path goes through symlink '{}'", prefix);
    }

    if (const char* hard = archive_entry_hardlink(entry)) {
      std::string_view target(hard);
      if (target.empty() || target.front() == '/') return "hardlink to an absolute path";
      auto target_parts = split_tar_path(target);
      if (has_dotdot(target_parts)) return "hardlink target has '..'";
      if (target_parts.empty()) return "hardlink to the export folder";
      return "";  // to an earlier entry, already checked
    }
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG:
      case AE_IFDIR:
        break;
      case AE_IFLNK:
        if (auto why = check_symlink(parts, archive_entry_symlink(entry)); !why.empty()) return why;
        symlinks_.insert(join(parts, parts.size()));
        break;
      default:
        return "not a file, folder or link (device, fifo or socket)";
    }
    return "";
  }

 private:
  // Targets are resolved lexically from the link's folder. A ".." after a name is refused
  // because that name may itself be a link, which lexical resolution cannot see through;
  // with that rule every accepted link resolves inside the export by induction.
  static std::string check_symlink(const TarParts& parts, const char* raw) {
    if (!raw || !*raw) return "symlink with an empty target";
    std::string_view target(raw);
    if (target.front() == '/') return fmt::format("symlink to absolute path '{}'", target);
    size_t depth = parts.size() - 1;  // folders above the link inside the export
    bool seen_name = false;
    for (auto part : split_tar_path(target)) {
      if (part != "..") {
        seen_name = true;
        continue;
      }
      if (seen_name) return fmt::format("symlink target '{}' has '..' after a name", target);
      if (depth == 0) return fmt::format("symlink to '{}' escapes the export", target);
      --depth;
    }
    return "";
  }

  std::set<std::string> symlinks_;
};

// One end of a socketpair: unlike a pipe, send(MSG_NOSIGNAL) reports a closed reader as EPIPE
// without raising SIGPIPE, so no process-wide signal state is touched.
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown libarchive error";
}

// Reads the archive from `fd` into `dest` (absolute, symlink-free path).
Status extract_fd(int fd, const fs::path& dest) {
  Fd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return Error{fmt::format("cannot open {}: {}", dest.string(), strerror(errno))};
  archive* in = archive_read_new();
  // git archive, hg archive and brz export all write a plain tar: no decompression filter.
  // Reading only tar is also what lets the binary link libarchive statically without its
  // other formats' libraries (libxml2 and ICU cost 2 ms at every start of the binary).
  archive_read_support_format_tar(in);
  Status status;
  if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK) {
    status = Error{fmt::format("cannot read the archive: {}", archive_message(in))};
  }
  EntryPolicy policy;
  DiskWriter writer(std::move(root));  // joins its threads before `root` is closed
  while (status) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) {
      status = writer.finish();
      break;
    }
    if (r < ARCHIVE_WARN) {
      status = Error{fmt::format("bad archive: {}", archive_message(in))};
      break;
    }
    const char* name = archive_entry_pathname(entry);
    std::string shown = name ? name : "";
    if (shown == "pax_global_header") continue;  // git archive's commit id record
    TarParts parts;
    if (auto why = policy.check(entry, parts); !why.empty()) {
      status = Error{fmt::format("refused entry '{}': {}", shown, why)};
      break;
    }
    if (parts.empty()) continue;  // "./": the export folder itself, which we own
    status = writer.write(in, entry, parts);
  }
  archive_read_free(in);
  return status;
}

}  // namespace

Status extract_tar_stream(const fs::path& dest,
                          const std::function<Status(const TarSink&)>& producer) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return Error{fmt::format("cannot create {}: {}", dest.string(), ec.message())};
  fs::path root = fs::canonical(dest, ec);
  if (ec) return Error{fmt::format("cannot resolve {}: {}", dest.string(), ec.message())};

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return Error{fmt::format("socketpair: {}", strerror(errno))};
  Fd reader(fds[0]), writer(fds[1]);
  int read_fd = reader.get(), write_fd = writer.get();

  Status produced;
  std::thread thread([&] {
    TarSink sink = [write_fd](std::string_view bytes) { return send_all(write_fd, bytes); };
    try {
      produced = producer(sink);
    } catch (const std::exception& e) {
      produced = Error{fmt::format("export failed: {}", e.what())};
    }
    // EOF for the reader, whether the producer finished or gave up.
    ::shutdown(write_fd, SHUT_WR);
  });

  Status extracted = extract_fd(read_fd, root);
  if (extracted) {
    // Take the end-of-archive padding too, so the producer is not left blocked or EPIPEd.
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(read_fd, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
  }
  // Unblocks a producer still sending (it gets EPIPE) after a refusal or a bad archive.
  ::shutdown(read_fd, SHUT_RDWR);
  thread.join();

  if (!extracted) {
    // A dead producer explains a truncated archive better than libarchive can.
    if (!produced && extracted.error().message.rfind("refused entry", 0) != 0)
      return produced.error();
    return extracted;
  }
  if (!produced) return produced.error();
  return {};
}

Status extract_tar_bytes(const fs::path& dest, std::string_view archive) {
  return extract_tar_stream(dest, [archive](const TarSink& sink) -> Status {
    constexpr size_t kChunk = 64 * 1024;
    for (size_t at = 0; at < archive.size(); at += kChunk) {
      if (!sink(archive.substr(at, kChunk))) return Error{"the extraction stopped reading"};
    }
    return {};
  });
}

}  // namespace runbot
