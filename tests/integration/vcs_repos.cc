#include "vcs_repos.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace runbot::test {

namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::string> kHgEnv = {{"HGPLAIN", "1"},
                                                   {"HGRCPATH", ""},
                                                   {"HGENCODING", "utf-8"},
                                                   {"HGUSER", "Test <t@example.org>"}};

std::string strip(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::map<std::string, std::string> brz_env() {
  const char* path = std::getenv("PATH");
  return {{"PATH", std::string("/usr/sbin:/usr/bin:/sbin:/bin:") + (path ? path : "")},
          {"BRZ_HOME", "/nonexistent/runbot-test-brz-home"},
          {"BZR_HOME", "/nonexistent/runbot-test-brz-home"},
          {"BRZ_LOG", "/dev/null"},
          {"BRZ_EMAIL", "Test <t@example.org>"},
          {"BRZ_PROGRESS_BAR", "none"}};
}

HgRepo::HgRepo(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  hg({"init", "-q"});
}

std::string HgRepo::hg(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"hg"};
  argv.insert(argv.end(), args.begin(), args.end());
  Cmd c = run(argv, dir_, kHgEnv);
  EXPECT_EQ(c.status, 0) << "hg failed in " << dir_ << ": " << c.err;
  return c.out;
}

std::string HgRepo::tip(const std::string& branch) const {
  auto it = tips_.find(branch);
  return it == tips_.end() ? "" : it->second;
}

std::string HgRepo::commit(const std::string& branch, const std::string& file,
                           const std::string& content, const std::string& date,
                           const std::string& from, const TreeEdit& edit) {
  if (!from.empty()) {
    hg({"update", "-q", "-C", "-r", from});
    hg({"branch", "-q", "-f", "--", branch});
  } else if (branch != current_) {
    std::string tip_node = tip(branch);
    if (!tip_node.empty())
      hg({"update", "-q", "-C", "-r", tip_node});
    else
      hg({"branch", "-q", "-f", "--", branch});
  }
  fs::path f = dir_ / file;
  fs::create_directories(f.parent_path());
  write_text(f, content);
  if (edit) edit(dir_);
  std::vector<std::string> args{"commit", "--debug", "-A", "-m", "change"};
  if (!date.empty()) args.insert(args.end(), {"-d", date});
  std::string out = hg(args);
  current_ = branch;
  // "committed changeset <rev>:<node>"
  const std::string marker = "committed changeset ";
  size_t at = out.find(marker);
  EXPECT_NE(at, std::string::npos) << out;
  if (at == std::string::npos) return "";
  std::string rest = out.substr(at + marker.size());
  rest = rest.substr(rest.find(':') + 1);
  return tips_[branch] = rest.substr(0, rest.find('\n'));
}

void HgRepo::close_branch(const std::string& branch) {
  hg({"update", "-q", "-C", "-r", tip(branch)});
  hg({"commit", "-q", "--close-branch", "-m", "close"});
  current_.clear();
  tips_.erase(branch);
}

void HgRepo::bookmark(const std::vector<std::string>& names, const std::string& node) {
  std::vector<std::string> args{"bookmark", "-q", "-f", "-r", node, "--"};
  args.insert(args.end(), names.begin(), names.end());
  hg(args);
}

void HgRepo::delete_bookmark(const std::string& name) { hg({"bookmark", "-q", "-d", "--", name}); }

BzrRepo::BzrRepo(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_.parent_path());
  brz({"init-shared-repo", "-q", "--", dir_.string()}, dir_.parent_path());
}

std::string BzrRepo::brz(const std::vector<std::string>& args, const fs::path& cwd) const {
  std::vector<std::string> argv{"brz"};
  argv.insert(argv.end(), args.begin(), args.end());
  Cmd c = run(argv, cwd.empty() ? dir_ : cwd, brz_env());
  EXPECT_EQ(c.status, 0) << "brz failed in " << dir_ << ": " << c.err;
  return c.out;
}

std::string BzrRepo::commit(const std::string& branch, const std::string& file,
                            const std::string& content, const std::string& commit_time,
                            const TreeEdit& edit) {
  fs::path tree = dir_ / branch;
  if (!fs::exists(tree / ".bzr")) {
    fs::create_directories(tree);
    brz({"init", "-q", "--", tree.string()});
  }
  fs::path f = tree / file;
  bool is_new = !fs::exists(f);
  fs::create_directories(f.parent_path());
  write_text(f, content);
  if (edit) edit(tree);
  if (is_new || edit) brz({"add", "-q"}, tree);
  std::vector<std::string> args{"commit", "-q", "-m", "change"};
  if (!commit_time.empty()) args.insert(args.end(), {"--commit-time", commit_time});
  brz(args, tree);
  return revid(branch);
}

void BzrRepo::branch(const std::string& branch, const std::string& from) {
  fs::create_directories((dir_ / branch).parent_path());
  brz({"branch", "-q", "--", (dir_ / from).string(), (dir_ / branch).string()});
}

void BzrRepo::quick_branch(const std::string& branch, const std::string& from) {
  fs::path src = dir_ / from / ".bzr", dst = dir_ / branch / ".bzr";
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src))
    if (e.path().filename() != "checkout")
      fs::copy(e.path(), dst / e.path().filename(), fs::copy_options::recursive);
}

std::string BzrRepo::revid(const std::string& branch) const {
  // "<revno> <revid>": read directly, saving a brz start.
  std::string line = strip(read_text(dir_ / branch / ".bzr" / "branch" / "last-revision"));
  return line.substr(line.find(' ') + 1);
}

}  // namespace runbot::test
