// Test support: temp dirs, real git repositories, running the real binary.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace runbot::test {

// A fresh directory under $TMPDIR, removed (recursively) at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

struct Cmd {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (no shell) in `cwd` with extra environment; captures output.
Cmd run(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
        const std::map<std::string, std::string>& env = {});
// Runs a shell line (test scaffolding only), failing the test if it exits non-zero.
std::string sh(const std::string& line, const std::filesystem::path& cwd = {});

// Runs the real openerp-runbot binary with --dir `dir` and the given arguments. The binary is
// the one this build made, or $RUNBOT_TEST_BINARY with $RUNBOT_TEST_SHARE (to run the
// end-to-end tests against another build, e.g. an older commit's).
Cmd runbot(const std::filesystem::path& dir, const std::vector<std::string>& args,
           const std::map<std::string, std::string>& env = {});

// How a test starts the binary: more environment (a secret planted in the tick's) and a prefix
// (`timeout 20`, or entering a PID namespace). The free functions use neither.
struct Launch {
  std::map<std::string, std::string> env;
  std::vector<std::string> prefix;

  Cmd runbot(const std::filesystem::path& dir, const std::vector<std::string>& args) const;
  nlohmann::json status(const std::filesystem::path& dir, bool all = false) const;
  // Ticks until no job is pending or building (true), or `seconds` pass.
  bool settle(const std::filesystem::path& dir, double seconds = 30) const;
};

// A real (non-bare) git repository with deterministic commits.
class GitRepo {
 public:
  explicit GitRepo(std::filesystem::path dir, const std::string& initial_branch = "trunk");
  const std::filesystem::path& path() const { return dir_; }
  // Writes a file and commits it on `branch` (created from the current HEAD if missing).
  // Returns the new commit id.
  std::string commit(const std::string& branch, const std::string& file, const std::string& content,
                     const std::string& message = "change");
  // Creates `branch` at the tip of `from`.
  void branch(const std::string& branch, const std::string& from);
  void delete_branch(const std::string& branch);
  std::string head(const std::string& branch) const;
  std::string git(const std::vector<std::string>& args) const;  // runs git, returns stdout

 private:
  std::filesystem::path dir_;
};

// Writes `text` to `file`.
void write_text(const std::filesystem::path& file, const std::string& text);
std::string read_text(const std::filesystem::path& file);

// Pids of live (non-zombie) processes whose command line (arguments joined by spaces)
// contains `text`; a test gives its processes a unique argument (see unique_sleep) to find
// every one of them, wherever they moved (another session, another PID namespace).
std::vector<int> processes_with(const std::string& text);
// "sleep 4242" with a number no other test uses: a process the test can find again.
std::string unique_sleep();
// Waits up to `seconds` until no process carries `text`; true when none is left.
bool none_left(const std::string& text, double seconds = 5);

// A TCP port nothing is bound to on 127.0.0.1 now.
int free_port();

// A TCP socket listening on 127.0.0.1 on a port the kernel chose (a remote that never answers,
// a squatter); closed with the object. `socket_flags` are added to SOCK_STREAM|SOCK_CLOEXEC.
class LoopbackListener {
 public:
  explicit LoopbackListener(int socket_flags = 0, int backlog = 16);
  ~LoopbackListener() { close(); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  int fd() const { return fd_; }
  int port() const { return port_; }
  void close();

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Parses `status --json` of the state dir.
// `status --json` (the current jobs; with `all`, every job) as a document.
nlohmann::json status_json(const std::filesystem::path& dir, bool all = false);
// Ticks the runbot in `dir` until no job is pending or building (true), or `seconds` pass.
bool settle(const std::filesystem::path& dir, double seconds = 30);

}  // namespace runbot::test
