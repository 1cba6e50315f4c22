// No command waits on the network (SPEC "Site and nginx"; issue 14): a remote that accepts the
// connection and never answers. The tick fetches before taking tick.lock, every remote at
// once, each within fetch_timeout; a remote given up is a warning and keeps its heads.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "family.h"

namespace runbot::test {
namespace {

// A TCP listener on 127.0.0.1 that accepts every connection and never says a word (a remote
// whose server hangs), until hang_up().
class SilentRemote {
 public:
  SilentRemote() {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{listener_.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        std::lock_guard<std::mutex> lock(mutex_);
        held_.push_back(c);
      }
    });
  }
  ~SilentRemote() { hang_up(); }
  int port() const { return listener_.port(); }
  size_t accepted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size() + closed_;
  }
  // Waits (bounded) until `n` connections were accepted.
  bool wait_for(size_t n) {
    for (int i = 0; i < 400 && accepted() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return accepted() >= n;
  }
  // Closes every connection and the listener: the clients see the end at once.
  void hang_up() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
      listener_.close();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (int c : held_) ::close(c);
    closed_ += held_.size();
    held_.clear();
  }

 private:
  LoopbackListener listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<int> held_;
  size_t closed_ = 0;
};

// The family's runbot.toml with `extra` remotes added to `project`.
void add_remote(Family& f, const std::string& project, const std::string& url) {
  std::string text = read_text(f.state / "runbot.toml");
  const std::string own = fmt::format("remotes = [\"{}\"", (f.tmp / project).string());
  size_t at = text.find(own);
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at + own.size(), ", \"" + url + "\"");
  write_text(f.state / "runbot.toml", text);
}

TEST(Fetch, SilentRemotesAreGivenUpAtFetchTimeoutAndTheOthersHeadsAreRecorded) {
  SilentRemote silent;
  Family f("fetch_timeout = 2");
  const std::string git_url = fmt::format("git://127.0.0.1:{}/server", silent.port());
  const std::string http_url = fmt::format("http://127.0.0.1:{}/addons.git", silent.port());
  add_remote(f, "server", git_url);
  add_remote(f, "addons", http_url);
  const std::string server_rev = f.server->commit("trunk", "a.py", "new\n");
  const std::string addons_rev = f.addons->commit("trunk", "b.py", "new\n");

  Cmd t = f.tick();
  EXPECT_EQ(t.status, 0) << t.out << t.err;
  EXPECT_GE(silent.accepted(), 2u) << "both silent remotes were asked";
  EXPECT_NE(t.err.find("server: fetch of " + git_url + " failed: timed out after 2 s"),
            std::string::npos)
      << t.err;
  EXPECT_NE(t.err.find("addons: fetch of " + http_url + " failed: timed out after 2 s"),
            std::string::npos)
      << t.err;
  // The other remotes were fetched and recorded: trunk's job has their new revisions.
  auto trunk = jobs_of(f.status(), "trunk");
  ASSERT_FALSE(trunk.empty()) << f.status().dump(2);
  EXPECT_EQ(trunk.front()["revisions"]["server"]["rev"], server_rev);
  EXPECT_EQ(trunk.front()["revisions"]["addons"]["rev"], addons_rev);

  // No VCS process of the given-up fetches is left behind (their process groups were killed).
  EXPECT_TRUE(none_left(fmt::format("127.0.0.1:{}", silent.port())));
  // The mirrors stay usable: once the silent remote is gone, a tick fetches as before.
  silent.hang_up();
  const std::string again = f.server->commit("trunk", "a.py", "again\n");
  Cmd t2 = f.tick();
  EXPECT_EQ(t2.status, 0) << t2.out << t2.err;
  EXPECT_EQ(jobs_of(f.status(), "trunk").front()["revisions"]["server"]["rev"], again);
}

TEST(Fetch, CommandsAnswerWhileATickIsStuckOnASilentRemote) {
  SilentRemote silent;
  Family f("fetch_timeout = 120");
  ASSERT_EQ(f.command({"build", "trunk"}).status, 0);  // job 1, pending
  add_remote(f, "server", fmt::format("git://127.0.0.1:{}/server", silent.port()));

  std::atomic<bool> tick_done{false};
  Cmd t;
  std::thread ticking([&] {
    t = f.tick();
    tick_done = true;
  });
  ASSERT_TRUE(silent.wait_for(1)) << "the tick never reached the silent remote";
  // Each command is bounded by `timeout` only so that a regression fails instead of hanging.
  Launch bounded = f.launch;
  bounded.prefix = {"timeout", "60"};
  Cmd keep = bounded.runbot(f.state, {"keep", "1"});
  Cmd build = bounded.runbot(f.state, {"build", "6.0"});
  Cmd kill = bounded.runbot(f.state, {"kill", "1"});
  Cmd status = bounded.runbot(f.state, {"status"});
  EXPECT_FALSE(tick_done) << "the tick ended before the commands were tried: " << t.out << t.err;
  EXPECT_EQ(keep.status, 0) << keep.out << keep.err;
  EXPECT_EQ(build.status, 0) << build.out << build.err;
  EXPECT_EQ(kill.status, 0) << kill.out << kill.err;
  EXPECT_EQ(status.status, 0) << status.out << status.err;
  // A second tick meanwhile does not fetch (fetch.lock) and does the rest of its work.
  Cmd second = bounded.runbot(f.state, {"tick"});
  EXPECT_EQ(second.status, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("another tick is fetching"), std::string::npos) << second.out;
  EXPECT_FALSE(tick_done);

  silent.hang_up();
  ticking.join();
  EXPECT_EQ(t.status, 0) << t.out << t.err;
  auto all = f.status_all();
  bool killed = false;
  for (const auto& j : all["jobs"])
    if (j["id"] == 1) killed = j["result"] == "killed";
  EXPECT_TRUE(killed) << all.dump(2);
}

// A tick killed (-9) while a fetch waits on a silent remote: its git must not stay behind,
// stuck for good and writing into the mirror beside the next tick's fetch.
TEST(Fetch, TickKilledWhileFetchingLeavesNoVcsCommandBehind) {
  SilentRemote silent;
  Family f("fetch_timeout = 120");
  const std::string url = fmt::format("git://127.0.0.1:{}/server", silent.port());
  add_remote(f, "server", url);
  const char* other = std::getenv("RUNBOT_TEST_BINARY");
  const std::string binary = other && *other ? other : RUNBOT_BINARY;
  std::string pid =
      sh("setsid " + binary + " --dir " + f.state.string() + " tick >/dev/null 2>&1 & echo $!");
  ASSERT_TRUE(silent.wait_for(1));
  ASSERT_FALSE(processes_with(url).empty()) << "no fetch of the silent remote is running";
  ::kill(-std::stoi(pid), SIGKILL);
  EXPECT_TRUE(none_left(url)) << "the killed tick's fetch of " << url << " is still running";
  for (int p : processes_with(url)) ::kill(p, SIGKILL);  // (cleanup when it failed)

  silent.hang_up();
  Cmd t = f.tick();
  EXPECT_EQ(t.status, 0) << t.out << t.err;
}

TEST(Fetch, InitGivesUpASilentRemoteAtFetchTimeoutAndShowsProgress) {
  SilentRemote silent;
  Family f("fetch_timeout = 2");
  const std::string url = fmt::format("git://127.0.0.1:{}/server", silent.port());
  add_remote(f, "server", url);
  const auto fresh = f.tmp / "fresh";
  std::filesystem::create_directories(fresh);
  Cmd init = runbot(fresh, {"init", "--config", (f.state / "runbot.toml").string()});
  EXPECT_EQ(init.status, 0) << init.out << init.err;
  EXPECT_GE(silent.accepted(), 1u);
  EXPECT_NE(init.out.find("server: fetching " + url), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("server: " + url + ": failed: timed out after 2 s"), std::string::npos)
      << init.out;
  EXPECT_NE(init.out.find("server: " + (f.tmp / "server").string() + ": "), std::string::npos)
      << init.out;
  EXPECT_NE(init.out.find("4 remotes (1 failed)"), std::string::npos) << init.out;
}

}  // namespace
}  // namespace runbot::test
