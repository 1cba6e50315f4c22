// Attacks through the network (SPEC "Untrusted code", Network; "Site and nginx"): with
// network = "none" a fork's step cannot reach the host's loopback (where the runbot's
// databases and caches listen), while the live instance still serves through nginx, also
// after `wake`; nginx's workers never run as root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// A listener of the test on 127.0.0.1 (the host's loopback).
struct Listener {
  LoopbackListener socket{SOCK_NONBLOCK};
  const int fd = socket.fd();
  const int port = socket.port();
  // Connections accepted now (each closed).
  int accepted() const {
    int n = 0;
    for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0; ++n) ::close(c);
    return n;
  }
};

// A shell command printing CONNECTED or "refused <why>" for 127.0.0.1:port.
std::string connect_command(int port) {
  return fmt::format(R"sh(python3 -c 'import socket
try:
    socket.create_connection(("127.0.0.1", {}), timeout=3); print("CONNECTED")
except OSError as e:
    print("refused", e)')sh",
                     port);
}

TEST(HostileNetwork, StepWithNetworkNoneCannotReachTheHostsLoopback) {
  Listener host;
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  Family f("",
           "steps = [" + script_step("reach", "reach.sh") +
               "]\nrun = 'exec sh \"$RUNBOT_SRC_SERVER/instance.sh\"'",
           "[sandbox]\nnetwork = \"none\"\n");
  only_trunk(f);
  commit_script(f, "trunk", "reach.sh", connect_command(host.port) + "\n");
  // The live instance shares the host's network: it reaches the same listener.
  commit_script(f, "trunk", "instance.sh",
                connect_command(host.port) + " > \"$RUNBOT_SRC/reached\"\nexec " + sleeper + "\n");
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  std::string log = step_log(f, "trunk", "reach");
  EXPECT_NE(log.find("refused"), std::string::npos) << log;
  EXPECT_EQ(log.find("CONNECTED"), std::string::npos) << "the step reached the host:\n" << log;
  ASSERT_TRUE(wait_for_file(job_dir(f, job) / "src" / "reached")) << job.dump(2);
  for (int i = 0; i < 200 && read_text(job_dir(f, job) / "src" / "reached").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(read_text(job_dir(f, job) / "src" / "reached"), "CONNECTED\n")
      << "the live instance must share the host's network";
}

// A family served by the runbot's own nginx on a free port; the instance is a web server.
struct Site {
  int port = free_port();
  Family f;
  explicit Site(const std::string& sections)
      : f(fmt::format("nginx = \"private\"\nnginx_port = {}\ndomain = \"runbot.localhost\"", port),
          "steps = [{ name = \"test\", run = \"true\" }]\n"
          "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"",
          sections) {
    only_trunk(f);
  }
  std::string code(const std::string& host) const {
    Cmd c = run({"curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}", "-H",
                 "Host: " + host, fmt::format("http://127.0.0.1:{}/", port)});
    return c.out;
  }
  // Retries while nginx reloads or the instance starts listening (bounded).
  std::string code_until(const std::string& want, const std::string& host) const {
    std::string got;
    for (int i = 0; i < 100 && (got = code(host)) != want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (i % 10 == 9) f.tick();
    }
    return got;
  }
};

TEST(HostileNetwork, LiveInstanceServesThroughNginxAndAgainAfterWake) {
  Site s("[sandbox]\nnetwork = \"none\"\nmemory = \"512M\"\npids = 64\n");
  ASSERT_TRUE(s.f.settle(60));
  auto job = newest_job(s.f, "trunk");
  ASSERT_EQ(job["state"], "running") << job.dump(2);
  const std::string id = std::to_string(job["id"].get<int64_t>());
  const std::string host = id + ".runbot.localhost";
  EXPECT_EQ(s.code_until("200", host), "200") << read_text(s.f.state / "nginx" / "error.log");
  Cmd k = s.f.command({"kill", id});
  ASSERT_EQ(k.status, 0) << k.out << k.err;
  s.f.tick();
  EXPECT_NE(s.code_until("404", host), "200");
  Cmd w = s.f.command({"wake", id});
  ASSERT_EQ(w.status, 0) << w.out << w.err;
  s.f.tick();
  EXPECT_EQ(s.code_until("200", host), "200") << "the woken instance does not answer";
  EXPECT_EQ(newest_job(s.f, "trunk")["state"], "running");
}

// Uid of `pid` (the real one, first of the "Uid:" line); -1 when it is gone.
long uid_of(int pid) {
  std::istringstream in(read_text(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Uid:")) return std::stol(line.substr(4));
  return -1;
}

TEST(HostileNginx, WorkersNeverRunAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "only meaningful when the runbot runs as root";
  Site s("");
  ASSERT_EQ(s.f.tick().status, 0);
  EXPECT_EQ(s.code_until("200", "runbot.localhost"), "200");
  // The private nginx's master names its config; its workers are its children.
  const std::string conf = (s.f.state / "nginx").string();
  int master = 0;
  for (int pid : processes_with(conf))
    if (read_text(fmt::format("/proc/{}/cmdline", pid)).starts_with("nginx: master")) master = pid;
  ASSERT_NE(master, 0) << "no private nginx";
  int workers = 0;
  for (int pid : processes_with("nginx: worker")) {
    std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    int ppid = 0;
    fields >> state >> ppid;
    if (ppid != master) continue;
    ++workers;
    EXPECT_NE(uid_of(pid), 0) << "nginx worker " << pid << " runs as root";
    // A worker taken over by a request would find no runbot.db, runbot.toml nor markers:
    // its view of the state dir holds nginx/ only (read through its mount namespace).
    const std::string view = fmt::format("/proc/{}/root{}", pid, s.f.state.string());
    EXPECT_FALSE(std::filesystem::exists(view + "/runbot.db")) << view;
    EXPECT_TRUE(std::filesystem::exists(view + "/nginx/nginx.conf")) << view;
  }
  EXPECT_GT(workers, 0);
}

}  // namespace
}  // namespace runbot::test
