#include "vcs/bzr.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "exec/process.h"
#include "util/atomic_file.h"
#include "vcs/bzr_location.h"
#include "vcs/git.h"
#include "vcs/tool.h"

namespace runbot {

namespace fs = std::filesystem;
using vcs_tool::short_error;
using vcs_tool::split;
using vcs_tool::succeeded;

namespace {

// Debian's brz embeds the system Python and fails to start when another python3 comes first
// in PATH, so the system directories go first.
constexpr std::string_view kSystemPath = "/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kHeadFile = "runbot-rev";  // in a branch folder: the revid fetched

RunOptions brz_options(const fs::path& mirror, int timeout_seconds = 0) {
  RunOptions o;
  o.die_with_parent = true;  // never outlives a killed tick (or runner)
  const char* path = std::getenv("PATH");
  o.env["PATH"] = std::string(kSystemPath) + (path && *path ? ":" + std::string(path) : "");
  // No user configuration or plugins (BZR_HOME too: brz falls back to ~/.bazaar).
  o.env["BRZ_HOME"] = (mirror / "brz-home").string();
  o.env["BZR_HOME"] = (mirror / "brz-home").string();
  o.env["BRZ_LOG"] = "/dev/null";
  o.env["BRZ_EMAIL"] = "runbot <runbot@localhost>";
  o.env["BRZ_PROGRESS_BAR"] = "none";
  o.env["LC_ALL"] = "C.UTF-8";
  o.timeout_seconds = timeout_seconds;
  return o;
}

std::string brz_error(const Result<RunOutput>& r, int timeout_seconds = 0) {
  return short_error(r, {"brz: ERROR:"}, timeout_seconds);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_shared_repo(const fs::path& dir) { return is_file(dir / ".bzr" / "repository" / "format"); }
bool is_branch(const fs::path& dir) { return is_file(dir / ".bzr" / "branch" / "format"); }

// Folder of a branch inside the remote's repository: never the name itself.
std::string branch_key(const std::string& name) { return "b" + remote_key(name).substr(1); }

bool is_branch_key(const std::string& s) {
  if (s.size() != 17 || s[0] != 'b') return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// The branch folders (named by branch_key) directly under `repo`, sorted; never throws.
std::vector<fs::path> branch_dirs(const fs::path& repo) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(repo, ec), end; !ec && it != end; it.increment(ec))
    if (is_branch_key(it->path().filename().string())) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

struct RemoteBranch {
  std::string name;
  std::string url;
};

// The branches at `remote`: `brz branches -R` prints "." for the location itself and the
// URL-escaped relative path of each branch below it. It prints nothing for a location that
// does not exist, so an empty listing is only believed when `brz info` can open the location.
Result<std::vector<RemoteBranch>> list_branches(const fs::path& mirror, const std::string& remote,
                                                const FetchBound& bound) {
  auto r = run_capture({"brz", "branches", "-R", "--", remote}, brz_options(mirror, bound.left()));
  if (!succeeded(r)) return Error{brz_error(r, bound.seconds)};
  std::vector<RemoteBranch> out;
  std::set<std::string> seen;
  const std::string base = bzr::base_url(remote);
  for (auto line : split(r->out, '\n')) {
    if (line.empty()) continue;
    RemoteBranch b;
    if (line == ".") {
      b = {bzr::own_name(remote), remote};
      if (b.name.empty()) return Error{"cannot name the branch at " + remote};
    } else {
      auto name = bzr::listed_branch_name(line);
      if (!name)
        return Error{"cannot parse the branch list of " + remote + ": '" + std::string(line) + "'"};
      b = {*name, base + "/" + bzr::url_escape(*name)};
    }
    if (seen.insert(b.name).second) out.push_back(std::move(b));
  }
  if (out.empty()) {
    auto info = run_capture({"brz", "info", "--", remote}, brz_options(mirror, bound.left()));
    if (!succeeded(info)) return Error{brz_error(info, bound.seconds)};
  }
  return out;
}

struct Tip {
  std::string revid;  // "null:" for a branch without revisions
  Time time = 0;
};

Result<Tip> branch_tip(const fs::path& mirror, const std::string& url, const FetchBound& bound) {
  auto r = run_capture(
      {"brz", "version-info", "--custom", "--template={revision_id}\\n{date}\\n", "--", url},
      brz_options(mirror, bound.left()));
  if (!succeeded(r)) return Error{brz_error(r, bound.seconds)};
  auto lines = split(r->out, '\n');
  if (lines.size() == 2 && lines[0] == "null:") return Tip{"null:", 0};
  std::optional<Time> time = lines.size() == 2 ? parse_bzr_date(lines[1]) : std::nullopt;
  if (!time || !is_bzr_revid(lines[0]))
    return Error{"cannot parse the revision of " + url + ": '" + r->out.substr(0, 100) + "'"};
  return Tip{std::string(lines[0]), *time};
}

// Makes the branch folder `dir` hold exactly `revid` of the branch at `url`.
Status fetch_branch(const fs::path& mirror, const fs::path& dir, const std::string& url,
                    const std::string& revid, const FetchBound& bound) {
  auto cached = read_file(dir / kHeadFile);
  if (cached && *cached == revid + "\n" && is_branch(dir)) return {};
  const std::string rev = "revid:" + revid;
  Result<RunOutput> r = Error{""};
  if (is_branch(dir)) {
    r = run_capture({"brz", "pull", "-q", "--overwrite", "-r", rev, "-d", dir.string(), "--", url},
                    brz_options(mirror, bound.left()));
  } else {
    if (auto removed = vcs_tool::remove_dir(dir); !removed) return removed;
    r = run_capture({"brz", "branch", "-q", "--no-tree", "-r", rev, "--", url, dir.string()},
                    brz_options(mirror, bound.left()));
  }
  if (!succeeded(r)) return Error{brz_error(r, bound.seconds)};
  return write_file_atomic(dir / kHeadFile, revid + "\n");
}

// A brz killed at its bound (or with the tick) leaves its write lock (`.bzr/*/lock/held`), and
// every later pull would wait on it and fail. Only the fetching tick (fetch.lock) writes a
// mirror, so a lock found here is always stale: it is broken. Exports only read.
void break_stale_locks(const fs::path& mirror, const fs::path& repo) {
  std::vector<fs::path> held;
  if (fs::path lock = repo / ".bzr" / "repository" / "lock" / "held"; is_file(lock / "info"))
    held.push_back(repo);
  for (const auto& dir : branch_dirs(repo))
    if (is_file(dir / ".bzr" / "branch" / "lock" / "held" / "info")) held.push_back(dir);
  for (const auto& location : held)
    (void)run_capture({"brz", "break-lock", "--force", "--", location.string()},
                      brz_options(mirror, 60));
}

Status ensure_shared_repo(const fs::path& mirror, const fs::path& repo) {
  if (is_shared_repo(repo)) return {};
  if (auto removed = vcs_tool::remove_dir(repo); !removed) return removed;
  auto r = run_capture({"brz", "init-shared-repo", "-q", "--no-trees", "--", repo.string()},
                       brz_options(mirror));
  if (!succeeded(r)) return Error{"cannot create " + repo.string() + ": " + brz_error(r)};
  return {};
}

RemoteHeads fetch_remote(const ProjectConfig& project, const fs::path& mirror,
                         const std::string& url, const FetchBound& bound) {
  RemoteHeads out{url, false, "", {}};
  if (auto valid = vcs_tool::check_remote(url); !valid) {
    out.error = valid.error().message;
    return out;
  }
  const fs::path repo = mirror / remote_key(url);
  if (auto ready = ensure_shared_repo(mirror, repo); !ready) {
    out.error = ready.error().message;
    return out;
  }
  break_stale_locks(mirror, repo);
  auto branches = list_branches(mirror, url, bound);
  if (!branches) {
    out.error = branches.error().message;
    return out;
  }
  std::set<std::string> keep;
  for (const auto& b : *branches) {
    auto tip = branch_tip(mirror, b.url, bound);
    if (!tip) {
      out.error = tip.error().message;
      return out;
    }
    if (tip->revid == "null:") continue;  // no revisions yet: nothing to build
    std::string key = branch_key(b.name);
    keep.insert(key);
    if (auto fetched = fetch_branch(mirror, repo / key, b.url, tip->revid, bound); !fetched) {
      out.error = fetched.error().message;
      return out;
    }
    out.heads.push_back(BranchHead{project.name, url, b.name, tip->revid, tip->time, 0});
  }
  // Branches gone upstream: their folders go (their revisions stay in the shared repository).
  for (const auto& dir : branch_dirs(repo)) {
    std::error_code ec;
    if (!keep.count(dir.filename().string())) fs::remove_all(dir, ec);
  }
  out.ok = true;
  return out;
}

}  // namespace

bool is_bzr_revid(std::string_view rev) {
  if (rev.empty() || rev.size() > 1024 || rev.front() == '-') return false;
  for (unsigned char c : rev)
    if (!std::isalnum(c) && (c == '\0' || std::strchr("._@,:+~=/%-", c) == nullptr)) return false;
  return true;
}

std::optional<Time> parse_bzr_date(std::string_view s) {
  // "YYYY-MM-DD HH:MM:SS +HHMM"
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd sdddd";
  if (s.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    char want = kShape[i];
    if (want == 'd'   ? !std::isdigit(static_cast<unsigned char>(s[i]))
        : want == 's' ? s[i] != '+' && s[i] != '-'
                      : s[i] != want)
      return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return std::nullopt;
  Time offset = num(21, 2) * 3600 + num(23, 2) * 60;
  if (s[20] == '-') offset = -offset;
  return static_cast<Time>(timegm(&tm)) - offset;
}

Status BzrVcs::prepare(const ProjectConfig& /*project*/, const fs::path& mirror) {
  auto ready = vcs_tool::ensure_mirror_dir(mirror, "bzr");
  if (!ready) return ready;
  std::error_code ec;
  fs::create_directories(mirror / "brz-home", ec);
  return {};
}

RemoteHeads BzrVcs::fetch(const ProjectConfig& project, const fs::path& mirror,
                          const std::string& url, const FetchBound& bound) {
  return fetch_remote(project, mirror, url, bound);
}

Status BzrVcs::export_tar(const ProjectConfig& project, const fs::path& mirror,
                          const std::string& remote, const std::string& rev, const TarSink& sink) {
  if (!is_bzr_revid(rev) || rev == "null:")
    return Error{project.name + ": not a bzr revision id: '" + rev + "'"};
  // Every branch folder of the remote shares its repository: any of them can export any
  // revision fetched from that remote.
  fs::path repo = mirror / remote_key(remote);
  std::vector<fs::path> candidates;
  for (const auto& dir : branch_dirs(repo))
    if (is_branch(dir)) candidates.push_back(dir);
  if (candidates.empty())
    return Error{project.name + ": no mirror of " + remote + " in " + mirror.string()};
  // A folder may vanish under us (its branch deleted upstream during this export): the next
  // one is tried while nothing was streamed yet. A few at most: a missing revision fails fast.
  constexpr size_t kMaxTries = 3;
  std::string error;
  for (size_t i = 0; i < candidates.size() && i < kMaxTries; ++i) {
    bool aborted = false, streamed = false;
    auto r = run_streaming({"brz", "export", "-q", "--format=tar", "--root=", "-d",
                            candidates[i].string(), "-r", "revid:" + rev, "--", "-"},
                           brz_options(mirror), [&](std::string_view data) {
                             streamed = true;
                             aborted = !sink(data);
                             return !aborted;
                           });
    if (aborted) return Error{project.name + ": export of " + rev + " aborted"};
    if (succeeded(r)) return {};
    error = project.name + ": brz export " + rev + " failed: " + brz_error(r);
    if (streamed) break;
  }
  return Error{error};
}

}  // namespace runbot
