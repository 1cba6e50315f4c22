#include "support/support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace runbot::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/runbot-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = fs::path(buf.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Cmd run(const std::vector<std::string>& argv, const fs::path& cwd,
        const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Cmd c;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? c.out : c.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return c;
}

std::string sh(const std::string& line, const fs::path& cwd) {
  Cmd c = run({"/bin/sh", "-c", line}, cwd);
  EXPECT_EQ(c.status, 0) << "sh: " << line << "\n" << c.out << c.err;
  return c.out;
}

Cmd runbot(const fs::path& dir, const std::vector<std::string>& args,
           const std::map<std::string, std::string>& env) {
  return Launch{env, {}}.runbot(dir, args);
}

Cmd Launch::runbot(const fs::path& dir, const std::vector<std::string>& args) const {
  const char* other = std::getenv("RUNBOT_TEST_BINARY");
  std::vector<std::string> argv = prefix;
  argv.insert(argv.end(), {other && *other ? other : RUNBOT_BINARY, "--dir", dir.string()});
  argv.insert(argv.end(), args.begin(), args.end());
  const char* share = std::getenv("RUNBOT_TEST_SHARE");
  auto e = env;
  e.emplace("RUNBOT_SHARE", share && *share ? share : RUNBOT_TEST_SHARE);
  return run(argv, dir, e);
}

static const std::map<std::string, std::string> kGitEnv = {
    {"GIT_AUTHOR_NAME", "Test"},    {"GIT_AUTHOR_EMAIL", "test@example.org"},
    {"GIT_COMMITTER_NAME", "Test"}, {"GIT_COMMITTER_EMAIL", "test@example.org"},
    {"GIT_CONFIG_NOSYSTEM", "1"},   {"GIT_CONFIG_GLOBAL", "/dev/null"},
};

GitRepo::GitRepo(fs::path dir, const std::string& initial_branch) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  git({"init", "-q", "-b", initial_branch});
  write_text(dir_ / "README", "initial\n");
  git({"add", "-A"});
  git({"commit", "-q", "-m", "initial"});
}

std::string GitRepo::git(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  Cmd c = run(argv, dir_, kGitEnv);
  EXPECT_EQ(c.status, 0) << "git failed in " << dir_ << ": " << c.err;
  return c.out;
}

std::string GitRepo::commit(const std::string& branch, const std::string& file,
                            const std::string& content, const std::string& message) {
  Cmd exists =
      run({"git", "rev-parse", "--verify", "--quiet", "refs/heads/" + branch}, dir_, kGitEnv);
  if (exists.status == 0)
    git({"checkout", "-q", branch});
  else
    git({"checkout", "-q", "-b", branch});
  fs::path f = dir_ / file;
  fs::create_directories(f.parent_path());
  write_text(f, content);
  git({"add", "-A"});
  git({"commit", "-q", "--allow-empty", "-m", message});
  return head(branch);
}

void GitRepo::branch(const std::string& branch, const std::string& from) {
  git({"branch", "--", branch, from});
}

void GitRepo::delete_branch(const std::string& branch) {
  git({"checkout", "-q", "--detach"});
  git({"branch", "-D", "--", branch});
}

std::string GitRepo::head(const std::string& branch) const {
  std::string out = git({"rev-parse", "refs/heads/" + branch});
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

LoopbackListener::LoopbackListener(int socket_flags, int backlog) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | socket_flags, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd_, backlog), 0);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

void LoopbackListener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

nlohmann::json status_json(const fs::path& dir, bool all) { return Launch{}.status(dir, all); }

nlohmann::json Launch::status(const fs::path& dir, bool all) const {
  Cmd c = runbot(dir, all ? std::vector<std::string>{"status", "--json", "--all"}
                          : std::vector<std::string>{"status", "--json"});
  EXPECT_EQ(c.status, 0) << c.err;
  nlohmann::json doc = nlohmann::json::parse(c.out, nullptr, false);
  if (doc.is_discarded())
    ADD_FAILURE() << "status --json printed no JSON document:\n"
                  << c.out.substr(0, 2000) << "\nstderr:\n"
                  << c.err;
  return doc;
}

bool settle(const fs::path& dir, double seconds) { return Launch{}.settle(dir, seconds); }

bool Launch::settle(const fs::path& dir, double seconds) const {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    Cmd tick = runbot(dir, {"tick"});
    if (tick.status >= 124) {  // killed by a signal, or by the prefix's `timeout`
      ADD_FAILURE() << "settle: tick exited " << tick.status << " (hung or crashed)\n" << tick.err;
      return false;
    }
    bool busy = false;
    nlohmann::json st = status(dir);  // kept alive while ranging over its jobs
    if (!st.is_object() || !st.contains("jobs") || !st["jobs"].is_array()) {
      ADD_FAILURE() << "settle: status --json is not a document with a \"jobs\" array";
      return false;
    }
    for (const auto& j : st["jobs"])
      if (j["state"] == "pending" || j["state"] == "building") busy = true;
    if (!busy) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

std::vector<int> processes_with(const std::string& text) {
  std::vector<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) == std::string::npos) continue;
    std::string stat = read_text(e.path() / "stat");
    auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    int pid = std::stoi(name);
    if (pid != getpid()) out.push_back(pid);
  }
  return out;
}

std::string unique_sleep() {
  static int n = 0;
  // The whole pid: tests of other processes (other checkouts too) never get the same number.
  return "sleep " + std::to_string(100000000000LL + getpid() * 1000LL + (++n % 1000)) + "7";
}

bool none_left(const std::string& text, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (processes_with(text).empty()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace runbot::test
