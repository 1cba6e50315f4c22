#include "vcs/git.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include "exec/process.h"
#include "vcs/tool.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

RunOptions git_options(int timeout_seconds = 0) {
  RunOptions o;
  o.die_with_parent = true;  // never outlives a killed tick (or runner)
  o.env["GIT_TERMINAL_PROMPT"] = "0";
  o.timeout_seconds = timeout_seconds;
  return o;
}

// `git --git-dir=<mirror> args...`: an explicit git dir, so git never discovers an enclosing
// repository when the mirror is missing or broken.
std::vector<std::string> git_in(const fs::path& mirror, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "--git-dir=" + mirror.string()};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return argv;
}

// A one-line reason from git's stderr: its fatal:/error: lines, else its last lines.
std::string short_error(const Result<RunOutput>& r, int timeout_seconds) {
  return vcs_tool::short_error(r, {"fatal:", "error:"}, timeout_seconds);
}

using vcs_tool::succeeded;

// What git itself checks before taking a folder for a repository (HEAD, objects/, refs/),
// plus the config init writes: a mirror that passes is used without a `git rev-parse`
// (one process less per tick); a failed fetch has it checked by git after all.
bool looks_like_mirror(const fs::path& mirror) {
  std::error_code ec;
  return fs::is_regular_file(mirror / "HEAD", ec) && fs::is_regular_file(mirror / "config", ec) &&
         fs::is_directory(mirror / "objects", ec) && fs::is_directory(mirror / "refs", ec);
}

// Makes `mirror` a bare repository, moving a broken one aside (never deleting it). A mirror is
// broken only when git ran and rejected it: failing to run git at all moves nothing.
Status ensure_mirror(const fs::path& mirror) {
  std::error_code ec;
  bool exists = fs::exists(fs::symlink_status(mirror, ec));
  bool is_dir = fs::is_directory(mirror, ec);
  if (is_dir && !fs::is_empty(mirror, ec)) {
    auto r = run_capture(git_in(mirror, {"rev-parse", "--git-dir"}), git_options());
    if (!r) return r.error();
    if (succeeded(r)) return {};
  }
  if (exists && !(is_dir && fs::is_empty(mirror, ec))) {
    fs::path aside = mirror;
    aside += ".broken-" + std::to_string(std::time(nullptr));
    fs::rename(mirror, aside, ec);
    if (ec)
      return Error{"cannot move broken mirror " + mirror.string() + " aside: " + ec.message()};
  }
  fs::create_directories(mirror.parent_path(), ec);
  auto r = run_capture({"git", "init", "--bare", "-q", "--", mirror.string()}, git_options());
  if (!succeeded(r))
    return Error{"cannot create mirror " + mirror.string() + ": " + short_error(r, 0)};
  return {};
}

bool is_hex_id(const std::string& rev) {
  if (rev.size() != 40 && rev.size() != 64) return false;
  for (char c : rev)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Fetches run no auto maintenance (a `git maintenance run --auto` process after every fetch,
// and a gc could stall a tick): the scan starts it only when git's own thresholds are near:
// gc.auto's estimate of loose objects (objects/17 holding more than 6700 / 256) or
// gc.autoPackLimit (50 packs).
bool maintenance_due(const fs::path& mirror) {
  std::error_code ec;
  int loose = 0;
  for (fs::directory_iterator it(mirror / "objects" / "17", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (++loose > 6700 / 256) return true;
  }
  int packs = 0;
  for (fs::directory_iterator it(mirror / "objects" / "pack", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".pack" && ++packs > 50) return true;
  }
  return false;
}

}  // namespace

std::string remote_key(const std::string& url) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64-bit
  for (unsigned char c : url) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[18];
  std::snprintf(buf, sizeof buf, "r%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Status GitVcs::prepare(const ProjectConfig& /*project*/, const fs::path& mirror) {
  checked_ = !looks_like_mirror(mirror);
  if (checked_) return ensure_mirror(mirror);
  return {};
}

RemoteHeads GitVcs::fetch(const ProjectConfig& project, const fs::path& mirror,
                          const std::string& url, const FetchBound& bound) {
  RemoteHeads result{url, false, "", {}};
  const std::string key = remote_key(url);
  if (bound.expired()) {
    result.error = "timed out after " + std::to_string(bound.seconds) + " s";
    return result;
  }
  // As config, which an older git ignores (unlike an unknown option): no auto maintenance
  // (see maintenance_due), no FETCH_HEAD, no forced-update walk for output that --quiet
  // drops anyway. Remotes of one mirror are fetched at once: each updates only its own
  // refs/remotes/<key>/ (a ref update is atomic: a fetch killed at its bound leaves each ref
  // old or new, never half), and a prune that meets another's packed-refs lock waits for it.
  auto r = run_capture(
      git_in(mirror, {"-c", "maintenance.auto=false", "-c", "gc.auto=0", "-c",
                      "fetch.writeFetchHead=false", "-c", "fetch.showForcedUpdates=false", "-c",
                      "core.packedRefsTimeout=10000", "fetch", "--prune", "--no-tags", "--quiet",
                      "--", url, "+refs/heads/*:refs/remotes/" + key + "/*"}),
      git_options(bound.left()));
  if (!succeeded(r)) {
    result.error = short_error(r, bound.seconds);
    return result;
  }
  auto refs = run_capture(git_in(mirror, {"for-each-ref",
                                          "--format=%(refname)%00%(objectname)%00%(objecttype)%00"
                                          "%(committerdate:unix)%00%(symref)",
                                          "refs/remotes/" + key + "/"}),
                          git_options());
  if (!succeeded(refs)) {
    result.error = "cannot list branches: " + short_error(refs, 0);
    return result;
  }
  const std::string prefix = "refs/remotes/" + key + "/";
  std::string_view rest = refs->out;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    std::vector<std::string_view> f;
    for (size_t start = 0;;) {
      size_t z = line.find('\0', start);
      f.push_back(line.substr(start, z == std::string_view::npos ? z : z - start));
      if (z == std::string_view::npos) break;
      start = z + 1;
    }
    if (f.size() != 5 || !f[4].empty() || f[2] != "commit" || !f[0].starts_with(prefix)) continue;
    BranchHead head;
    head.project = project.name;
    head.remote = url;
    head.branch = std::string(f[0].substr(prefix.size()));
    head.rev = std::string(f[1]);
    head.commit_time = std::strtoll(std::string(f[3]).c_str(), nullptr, 10);
    result.heads.push_back(std::move(head));
  }
  result.ok = true;
  return result;
}

bool GitVcs::finish(const ProjectConfig& /*project*/, const fs::path& mirror, bool any_failed) {
  if (any_failed && !checked_) {
    // A mirror that only looked fine: if git rejects it, it is moved aside and rebuilt, and
    // every remote fetched again, once.
    checked_ = true;
    auto probe = run_capture(git_in(mirror, {"rev-parse", "--git-dir"}), git_options());
    if (probe && !succeeded(probe) && ensure_mirror(mirror)) return true;
  }
  if (maintenance_due(mirror)) {
    // Detaches (gc.autoDetach) unless there is little to do; a failure costs nothing now.
    (void)run_capture(git_in(mirror, {"gc", "--auto", "--quiet"}), git_options());
  }
  return false;
}

Status GitVcs::export_tar(const ProjectConfig& project, const fs::path& mirror,
                          const std::string& /*remote*/, const std::string& rev,
                          const TarSink& sink) {
  if (!is_hex_id(rev)) return Error{project.name + ": not a full commit id: '" + rev + "'"};
  bool aborted = false;
  // tar.umask=user: modes as a checkout makes them (0644/0755 under umask 022) rather than
  // git's fixed 0664/0775, so the extraction needs no chmod per file.
  auto r = run_streaming(git_in(mirror, {"-c", "tar.umask=user", "archive", "--format=tar", rev}),
                         git_options(), [&](std::string_view data) {
                           aborted = !sink(data);
                           return !aborted;
                         });
  if (aborted) return Error{project.name + ": export of " + rev + " aborted"};
  if (!succeeded(r))
    return Error{project.name + ": git archive " + rev + " failed: " + short_error(r, 0)};
  return {};
}

}  // namespace runbot
