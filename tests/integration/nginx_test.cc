// The real Debian nginx in private mode, in a temp state dir, on free loopback ports.
#include "site/nginx.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include "exec/proc_stat.h"
#include "exec/process.h"
#include "site/site.h"
#include "state/db.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::TempDir;
using test::write_text;

// A port nothing listens on now (nginx listens on every interface: check the wildcard).
int free_port() {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = std::uniform_int_distribution<int>(20000, 59999)(rng);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return port;
  }
  ADD_FAILURE() << "no free port";
  return 0;
}

struct Http {
  int code = 0;
  std::string body;
  std::string headers;
};

Http get(int port, const std::string& host, const std::string& path) {
  test::Cmd c =
      test::run({"curl", "-s", "--max-time", "5", "-D", "/dev/stderr", "-H", "Host: " + host,
                 fmt::format("http://127.0.0.1:{}{}", port, path), "-w", "\n%{http_code}"});
  Http h;
  size_t nl = c.out.rfind('\n');
  if (nl == std::string::npos) return h;
  h.code = std::atoi(c.out.c_str() + nl + 1);
  h.body = c.out.substr(0, nl);
  h.headers = c.err;
  return h;
}

// Retries while nginx finishes a reload or a server starts listening.
Http get_until(int code, int port, const std::string& host, const std::string& path) {
  Http h;
  for (int i = 0; i < 100; ++i) {
    h = get(port, host, path);
    if (h.code == code) break;
    std::this_thread::sleep_for(50ms);
  }
  return h;
}

// Processes whose command line names this state dir's nginx.conf, but for a worker the master
// has just forked (during a reload), which bears the master's title until it sets its own.
int nginx_processes(const Paths& paths) {
  std::string needle = (paths.nginx() / "nginx.conf").string();
  auto titled = [&](const fs::path& proc) {
    return test::read_text(proc / "cmdline").find(needle) != std::string::npos;
  };
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    if (!titled(entry.path())) continue;
    ProcStat st;
    pid_t pid = static_cast<pid_t>(std::atol(entry.path().filename().c_str()));
    if (pid > 0 && read_proc_stat(pid, &st) && st.ppid > 1 &&
        titled(fs::path("/proc") / std::to_string(st.ppid)) &&
        test::read_text(fs::path("/proc") / std::to_string(st.ppid) / "cmdline")
            .starts_with("nginx: master process"))
      continue;
    ++n;
  }
  return n;
}

// Whatever happens in the test, its nginx is stopped.
struct NginxGuard {
  Paths paths;
  ~NginxGuard() {
    (void)stop_private_nginx(paths);
    if (pid_t pid = private_nginx_pid(paths)) kill(-pid, SIGKILL);
  }
};

// A python3 http.server serving `root` on 127.0.0.1:port, killed at the end.
struct FakeInstance {
  FakeInstance(const fs::path& root, int port, const std::string& text) : port(port) {
    write_text(root / "index.html", text);
    auto p = spawn_detached(
        {"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1"},
        root.parent_path() / (std::to_string(port) + ".log"), RunOptions::in(root));
    EXPECT_TRUE(p) << p.error().message;
    if (p) id = *p;
  }
  ~FakeInstance() {
    if (id.pid) kill_group(id, 1s);
  }
  bool ready() const { return get_until(200, port, "127.0.0.1", "/").code == 200; }
  int port;
  ProcessId id;
};

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RUNBOT_SHARE", RUNBOT_TEST_SHARE, 1);
    paths.root = dir.path();
    config.runbot.nginx = "private";
    config.runbot.domain = "runbot.localhost";
    config.runbot.nginx_port = free_port();
    guard.paths = paths;
  }
  Status apply(const std::vector<std::pair<int64_t, int>>& live) {
    log.clear();
    auto conf = render_nginx_conf(config, paths, live);
    if (!conf) return conf.error();
    return apply_nginx(config, paths, *conf, log);
  }
  int port() const { return config.runbot.nginx_port; }
  // nginx running with no instance, and a live instance 7 not yet in its config.
  void start_then_ready_seven() {
    fs::create_directories(dir.path() / "inst7");
    seven = std::make_unique<FakeInstance>(dir.path() / "inst7", free_port(), "instance seven");
    ASSERT_TRUE(seven->ready());
    ASSERT_TRUE(apply({}));
    nginx_pid = private_nginx_pid(paths);
    ASSERT_NE(nginx_pid, 0);
  }

  TempDir dir;
  Paths paths;
  Config config;
  NginxGuard guard;
  std::vector<std::string> log;
  std::unique_ptr<FakeInstance> seven;
  pid_t nginx_pid = 0;
};

TEST_F(NginxTest, PrivateNginxServesSiteLogsAndInstances) {
  {
    auto db = Db::open(paths.db());
    ASSERT_TRUE(publish_site(config, paths, *db, 1795000000, nullptr));
  }
  fs::create_directories(paths.job(7) / "logs");
  fs::create_directories(paths.job(7) / "src");
  write_text(paths.job(7) / "logs" / "install.log", "installing é\n");
  write_text(paths.job(7) / "src" / "secret", "top secret\n");
  fs::create_directories(dir.path() / "inst7");
  fs::create_directories(dir.path() / "inst8");
  FakeInstance seven(dir.path() / "inst7", free_port(), "instance seven");
  FakeInstance eight(dir.path() / "inst8", free_port(), "instance eight");
  ASSERT_TRUE(seven.ready());
  ASSERT_TRUE(eight.ready());

  auto st = apply({{7, seven.port}});
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("started nginx"), std::string::npos) << log[0];
  pid_t pid = private_nginx_pid(paths);
  ASSERT_NE(pid, 0);

  Http index = get_until(200, port(), "runbot.localhost", "/");
  EXPECT_EQ(index.code, 200);
  EXPECT_NE(index.body.find("No groups yet"), std::string::npos) << index.body;
  EXPECT_EQ(get(port(), "runbot.localhost", "/status.json").code, 200);
  Http inst = get(port(), "7.runbot.localhost", "/");
  EXPECT_EQ(inst.code, 200);
  EXPECT_NE(inst.body.find("instance seven"), std::string::npos);
  EXPECT_EQ(get(port(), "elsewhere.example", "/").code, 404);
  EXPECT_EQ(get(port(), "8.runbot.localhost", "/").code, 404);
  Http logfile = get(port(), "runbot.localhost", "/jobs/7/logs/install.log");
  EXPECT_EQ(logfile.code, 200) << test::read_text(paths.nginx() / "error.log");
  EXPECT_EQ(logfile.body, "installing é\n");
  EXPECT_NE(logfile.headers.find("Content-Type: text/plain; charset=utf-8"), std::string::npos)
      << logfile.headers;
  EXPECT_EQ(get(port(), "runbot.localhost", "/jobs/7/src/secret").code, 404);
  EXPECT_EQ(get(port(), "runbot.localhost", "/jobs/7/job.json").code, 404);
  fs::create_symlink(paths.job(7) / "src" / "secret", paths.job(7) / "logs" / "leak.log");
  EXPECT_NE(get(port(), "runbot.localhost", "/jobs/7/logs/leak.log").code, 200);
  EXPECT_EQ(get(port(), "runbot.localhost", "/jobs/7/logs/%2e%2e/src/secret").code, 404);

  // Same config: nothing to do, same nginx.
  ASSERT_TRUE(apply({{7, seven.port}}));
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(private_nginx_pid(paths), pid);

  // A new live instance: reload, reachable.
  ASSERT_TRUE(apply({{7, seven.port}, {8, eight.port}}));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("reloaded nginx"), std::string::npos) << log[0];
  EXPECT_EQ(private_nginx_pid(paths), pid);
  Http new_inst = get_until(200, port(), "8.runbot.localhost", "/");
  EXPECT_EQ(new_inst.code, 200);
  EXPECT_NE(new_inst.body.find("instance eight"), std::string::npos);

  ASSERT_TRUE(stop_private_nginx(paths));
  EXPECT_EQ(private_nginx_pid(paths), 0);
  EXPECT_EQ(nginx_processes(paths), 0);
  EXPECT_EQ(get(port(), "runbot.localhost", "/").code, 0);  // nothing listens
  EXPECT_TRUE(stop_private_nginx(paths));                   // stopping twice is fine
}

// A tick killed after writing runbot.conf but before the reload: the file already compares
// equal, yet the next tick reloads, and the new instance is served (issue 14).
TEST_F(NginxTest, KillBetweenWriteAndReloadIsRepairedByTheNextTick) {
  ASSERT_NO_FATAL_FAILURE(start_then_ready_seven());
  auto next = render_nginx_conf(config, paths, {{7, seven->port}});
  ASSERT_TRUE(next);
  write_text(paths.nginx() / "runbot.conf", *next);  // written, then kill -9: no reload
  EXPECT_EQ(get(port(), "7.runbot.localhost", "/").code, 404);

  ASSERT_TRUE(apply({{7, seven->port}}));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("reloaded nginx"), std::string::npos) << log[0];
  EXPECT_EQ(private_nginx_pid(paths), nginx_pid);
  EXPECT_EQ(get_until(200, port(), "7.runbot.localhost", "/").code, 200);
  ASSERT_TRUE(apply({{7, seven->port}}));
  EXPECT_TRUE(log.empty());  // and only once
}

// nginx.pid deleted under a running nginx: no second nginx, reloads still reach the one
// running, and stopping (clean) stops it (issue 14).
TEST_F(NginxTest, LostPidFileNeitherStartsASecondNginxNorLeavesOneRunning) {
  ASSERT_NO_FATAL_FAILURE(start_then_ready_seven());
  const int processes = nginx_processes(paths);
  fs::remove(paths.nginx() / "nginx.pid");

  auto st = apply({{7, seven->port}});
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(private_nginx_pid(paths), nginx_pid);
  EXPECT_EQ(nginx_processes(paths), processes);
  EXPECT_EQ(get_until(200, port(), "7.runbot.localhost", "/").code, 200)
      << test::read_text(paths.nginx() / "error.log");

  fs::remove(paths.nginx() / "nginx.pid");
  ASSERT_TRUE(stop_private_nginx(paths));
  EXPECT_EQ(nginx_processes(paths), 0);
  EXPECT_EQ(get(port(), "runbot.localhost", "/").code, 0);
}

// The attack on that recovery: a process of a build or an instance (its own PID namespace)
// takes our nginx master's title with `exec -a`, then waits for the pid file to be lost. It is
// never taken for our nginx: the real one is started and serves, and the forger is not signalled.
TEST_F(NginxTest, ForgedMasterTitleOutsideOurPidNamespaceIsNotAdopted) {
  ASSERT_TRUE(apply({}));
  ASSERT_TRUE(stop_private_nginx(paths));
  ASSERT_EQ(nginx_processes(paths), 0);
  const std::string title = "nginx: master process nginx -c " + (paths.nginx() / "nginx.conf").string();
  auto forger = spawn_detached({"unshare", "--pid", "--fork", "--kill-child", "bash", "-c",
                                "exec -a \"$0\" sleep 60", title},
                               dir.path() / "forger.log", RunOptions::in(dir.path()));
  ASSERT_TRUE(forger) << forger.error().message;
  struct Reap {
    ProcessId id;
    ~Reap() { kill_group(id, 1s); }
  } reap{*forger};
  // unshare (its argv names the title) and the titled sleep, pid 1 of its namespace.
  for (int i = 0; i < 100 && nginx_processes(paths) < 2; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(nginx_processes(paths), 2) << "the forged title is not in /proc";

  EXPECT_EQ(private_nginx_pid(paths), 0);
  auto st = apply({});
  ASSERT_TRUE(st) << st.error().message;
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("started nginx"), std::string::npos) << log[0];
  EXPECT_EQ(get_until(404, port(), "nobody.example", "/").code, 404);  // the real one serves
  EXPECT_TRUE(is_alive(*forger));
}

TEST_F(NginxTest, RefusedConfigIsAnErrorAndIsRetried) {
  std::vector<std::string> out;
  auto st = apply_nginx(config, paths, "this is not nginx;\n", out);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("unknown directive"), std::string::npos) << st.error().message;
  EXPECT_FALSE(fs::exists(paths.nginx() / "runbot.conf"));  // put back: the next tick retries
  EXPECT_EQ(private_nginx_pid(paths), 0);

  ASSERT_TRUE(apply({}));
  ASSERT_NE(private_nginx_pid(paths), 0);
  auto conf = test::read_text(paths.nginx() / "runbot.conf");
  st = apply_nginx(config, paths, conf + "bogus;\n", out);
  ASSERT_FALSE(st);
  EXPECT_EQ(test::read_text(paths.nginx() / "runbot.conf"), conf);
  EXPECT_EQ(get_until(404, port(), "nobody.example", "/").code, 404);  // still serving
}

TEST_F(NginxTest, IncludeModeRunsReloadCommandOnlyWhenChanged) {
  config.runbot.nginx = "include";
  fs::path reloads = dir.path() / "reloads";
  config.runbot.reload_command = "echo reload >> '" + reloads.string() + "'";
  ASSERT_TRUE(apply({{7, 9001}}));
  ASSERT_TRUE(apply({{7, 9001}}));
  EXPECT_EQ(test::read_text(reloads), "reload\n");
  ASSERT_TRUE(apply({{7, 9001}, {8, 9002}}));
  EXPECT_EQ(test::read_text(reloads), "reload\nreload\n");
  EXPECT_FALSE(fs::exists(paths.nginx() / "nginx.conf"));
  EXPECT_EQ(private_nginx_pid(paths), 0);

  config.runbot.reload_command = "echo nope >&2; exit 3";
  auto st = apply({{9, 9003}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("nope"), std::string::npos) << st.error().message;
  EXPECT_EQ(test::read_text(paths.nginx() / "runbot.conf").find("9003"), std::string::npos);
}

}  // namespace
}  // namespace runbot
