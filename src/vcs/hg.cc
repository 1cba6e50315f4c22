#include "vcs/hg.h"

#include <cctype>
#include <charconv>
#include <map>

#include "exec/process.h"
#include "vcs/git.h"
#include "vcs/tool.h"

namespace runbot {

namespace fs = std::filesystem;
using vcs_tool::short_error;
using vcs_tool::split;
using vcs_tool::succeeded;

namespace {

// The name under which the remote is given to `hg pull`: path sub-options such as the
// bookmarks mode only apply to named paths.
constexpr std::string_view kPathName = "runbot-remote";

// Plain output, no user or system configuration, UTF-8 names.
RunOptions hg_options(int timeout_seconds = 0) {
  RunOptions o;
  o.die_with_parent = true;  // never outlives a killed tick (or runner)
  o.env["HGPLAIN"] = "1";
  o.env["HGRCPATH"] = "";
  o.env["HGENCODING"] = "utf-8";
  o.timeout_seconds = timeout_seconds;
  return o;
}

// `hg --repository=<repo> args...`: an explicit repository, never one found by searching up.
std::vector<std::string> hg_in(const fs::path& repo, std::vector<std::string> args) {
  std::vector<std::string> argv{"hg", "--repository=" + repo.string()};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return argv;
}

std::string hg_error(const Result<RunOutput>& r, int timeout_seconds = 0) {
  return short_error(r, {"abort:"}, timeout_seconds);
}

bool is_node(std::string_view s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Parses lines of `name \0 node \0 <unix seconds> <tz offset>` (the template below). Names
// cannot hold '\0' or '\n' in hg, so anything else is refused rather than guessed at.
constexpr std::string_view kTemplateTail = "\\0{node}\\0{date|hgdate}\\n";

Status parse_heads(std::string_view out, std::string_view what,
                   std::map<std::string, std::pair<std::string, Time>>& heads) {
  for (auto line : split(out, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, '\0');
    Time seconds = 0;
    auto date = f.size() == 3 ? f[2] : std::string_view();
    const char* date_end = date.data() + date.size();
    auto [end, ec] = std::from_chars(date.data(), date_end, seconds);
    if (f.size() != 3 || f[0].empty() || !is_node(f[1]) || ec != std::errc() || end == date_end ||
        *end != ' ')
      return Error{"cannot parse hg " + std::string(what) + " output"};
    if (f[1] == std::string(40, '0')) continue;
    heads[std::string(f[0])] = {std::string(f[1]), seconds};
  }
  return {};
}

// Creates the per-remote repository if it is missing (a half-made one is made again).
Status ensure_repo(const fs::path& repo) {
  std::error_code ec;
  if (fs::is_regular_file(repo / ".hg" / "requires", ec)) return {};
  if (auto removed = vcs_tool::remove_dir(repo); !removed) return removed;
  auto r = run_capture({"hg", "init", "--", repo.string()}, hg_options());
  if (!succeeded(r)) return Error{"cannot create " + repo.string() + ": " + hg_error(r)};
  return {};
}

// A pull killed at its bound (or with the tick) leaves an abandoned transaction that makes
// every later pull abort ("run 'hg recover'"): it is rolled back first. Only the fetching tick
// (fetch.lock) writes a mirror, so a journal found here is always abandoned.
Status recover_abandoned(const fs::path& repo, int timeout_seconds) {
  std::error_code ec;
  if (!fs::exists(repo / ".hg" / "store" / "journal", ec)) return {};
  auto r = run_capture(hg_in(repo, {"recover", "--no-verify"}), hg_options(timeout_seconds));
  if (!succeeded(r)) r = run_capture(hg_in(repo, {"recover"}), hg_options(timeout_seconds));
  if (!succeeded(r)) return Error{"cannot recover " + repo.string() + ": " + hg_error(r)};
  return {};
}

RemoteHeads fetch_remote(const ProjectConfig& project, const fs::path& repo, const std::string& url,
                         const FetchBound& bound) {
  RemoteHeads out{url, false, "", {}};
  if (auto valid = vcs_tool::check_remote(url); !valid) {
    out.error = valid.error().message;
    return out;
  }
  if (auto ready = ensure_repo(repo); !ready) {
    out.error = ready.error().message;
    return out;
  }
  if (auto recovered = recover_abandoned(repo, bound.left()); !recovered) {
    out.error = recovered.error().message;
    return out;
  }
  if (bound.expired()) {
    out.error = "timed out after " + std::to_string(bound.seconds) + " s";
    return out;
  }
  const std::string path(kPathName);
  auto pull =
      run_capture(hg_in(repo, {"pull", "--quiet", "--config", "paths." + path + "=" + url,
                               "--config", "paths." + path + ":bookmarks.mode=mirror", "--", path}),
                  hg_options(bound.left()));
  if (!succeeded(pull)) {
    out.error = hg_error(pull, bound.seconds);
    return out;
  }
  std::map<std::string, std::pair<std::string, Time>> branches, bookmarks;
  auto b =
      run_capture(hg_in(repo, {"branches", "--template", "{branch}" + std::string(kTemplateTail)}),
                  hg_options());
  if (!succeeded(b)) {
    out.error = "cannot list branches: " + hg_error(b);
    return out;
  }
  auto m = run_capture(
      hg_in(repo, {"bookmarks", "--template", "{bookmark}" + std::string(kTemplateTail)}),
      hg_options());
  if (!succeeded(m)) {
    out.error = "cannot list bookmarks: " + hg_error(m);
    return out;
  }
  if (auto p = parse_heads(b->out, "branches", branches); !p) {
    out.error = p.error().message;
    return out;
  }
  if (auto p = parse_heads(m->out, "bookmarks", bookmarks); !p) {
    out.error = p.error().message;
    return out;
  }
  for (auto& [name, head] : bookmarks) branches[name] = head;  // a bookmark wins
  for (auto& [name, head] : branches)
    out.heads.push_back(BranchHead{project.name, url, name, head.first, head.second, 0});
  out.ok = true;
  return out;
}

}  // namespace

Status HgVcs::prepare(const ProjectConfig& /*project*/, const fs::path& mirror) {
  return vcs_tool::ensure_mirror_dir(mirror, "hg");
}

RemoteHeads HgVcs::fetch(const ProjectConfig& project, const fs::path& mirror,
                         const std::string& url, const FetchBound& bound) {
  return fetch_remote(project, mirror / remote_key(url), url, bound);
}

Status HgVcs::export_tar(const ProjectConfig& project, const fs::path& mirror,
                         const std::string& remote, const std::string& rev, const TarSink& sink) {
  if (!is_node(rev)) return Error{project.name + ": not a full changeset id: '" + rev + "'"};
  fs::path repo = mirror / remote_key(remote);
  std::error_code ec;
  if (!fs::is_regular_file(repo / ".hg" / "requires", ec))
    return Error{project.name + ": no mirror of " + remote + " in " + mirror.string()};
  bool aborted = false;
  // -p . puts the files at the top of the archive; archivemeta=false leaves out
  // .hg_archival.txt, so the tree is the same as git's export.
  auto r = run_streaming(hg_in(repo, {"archive", "--config", "ui.archivemeta=false", "--type",
                                      "tar", "--prefix", ".", "--rev", rev, "-"}),
                         hg_options(), [&](std::string_view data) {
                           aborted = !sink(data);
                           return !aborted;
                         });
  if (aborted) return Error{project.name + ": export of " + rev + " aborted"};
  if (!succeeded(r)) return Error{project.name + ": hg archive " + rev + " failed: " + hg_error(r)};
  return {};
}

}  // namespace runbot
