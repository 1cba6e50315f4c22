// Real Mercurial and Bazaar repositories for tests, next to support.h's GitRepo.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/support.h"
#include "vcs/vcs.h"

namespace runbot::test {

// A project of kind `vcs` named `name` watching `remotes`, base branch trunk.
inline ProjectConfig project_config(const std::string& name, const std::string& vcs,
                                    std::vector<std::string> remotes) {
  ProjectConfig p;
  p.name = name;
  p.vcs = vcs;
  p.remotes = std::move(remotes);
  p.base_branches = {"trunk"};
  return p;
}

// branch -> head, for one remote.
inline std::map<std::string, BranchHead> by_branch(const RemoteHeads& r) {
  std::map<std::string, BranchHead> m;
  for (const auto& h : r.heads) m[h.branch] = h;
  return m;
}

// Edits a working tree before a commit (files, modes, symlinks).
using TreeEdit = std::function<void(const std::filesystem::path& worktree)>;

// A Mercurial repository with a working copy. Branch names are passed as data (after "--").
class HgRepo {
 public:
  explicit HgRepo(std::filesystem::path dir);
  const std::filesystem::path& path() const { return dir_; }
  // Commits `file` = `content` (and `edit`, if given) on named branch `branch`. With `from`
  // (a node) the branch is new and starts there; else the commit goes on the branch's tip, or
  // starts the branch from the working copy's parent if it does not exist. `date` is hg's
  // "unix-seconds tz-offset" ("" = now). Returns the new node.
  std::string commit(const std::string& branch, const std::string& file, const std::string& content,
                     const std::string& date = "", const std::string& from = "",
                     const TreeEdit& edit = nullptr);
  // Closes `branch` (a closing commit on its tip).
  void close_branch(const std::string& branch);
  // Creates or moves bookmarks `names` to `node`.
  void bookmark(const std::vector<std::string>& names, const std::string& node);
  void delete_bookmark(const std::string& name);
  // Tip node of a named branch committed through this object ("" if none).
  std::string tip(const std::string& branch) const;
  std::string hg(const std::vector<std::string>& args) const;  // fails the test on error

 private:
  std::filesystem::path dir_;
  std::string current_;  // named branch of the working copy's parent, when known
  std::map<std::string, std::string> tips_;  // branch -> tip, for commits made here
};

// A Bazaar shared repository whose branches (with working trees) are folders under it.
class BzrRepo {
 public:
  explicit BzrRepo(std::filesystem::path dir);
  const std::filesystem::path& path() const { return dir_; }
  // Commits on `branch` (the folder `branch` under the repo; created empty if missing) with
  // `commit_time` like "2001-09-09 03:46:40 +0200" ("" = now). Returns the revision id.
  std::string commit(const std::string& branch, const std::string& file, const std::string& content,
                     const std::string& commit_time = "", const TreeEdit& edit = nullptr);
  // Creates `branch` (parent folders included) as a copy of `from`.
  void branch(const std::string& branch, const std::string& from);
  // Like branch(), without a working tree and without starting brz: copies the branch's
  // control files, which is what `brz branch --no-tree` writes inside a shared repository.
  void quick_branch(const std::string& branch, const std::string& from);
  std::string revid(const std::string& branch) const;  // tip of `branch`
  std::string brz(const std::vector<std::string>& args,
                  const std::filesystem::path& cwd = {}) const;  // fails the test on error

 private:
  std::filesystem::path dir_;
};

// The environment brz needs in tests (system python first, no user configuration).
std::map<std::string, std::string> brz_env();

}  // namespace runbot::test
