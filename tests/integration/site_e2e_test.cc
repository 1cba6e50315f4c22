// End to end through real nginx (private mode, loopback) and real headless Chromium.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "exec/process.h"
#include "family.h"
#include "job/job_file.h"
#include "site/nginx.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// The live instance serves its src/ folder: the listing shows which projects it runs.
const char* kBuild =
    "steps = [{ name = \"test\", run = \"echo testing $RUNBOT_GROUP\" }]\n"
    "run = \"exec python3 -m http.server $RUNBOT_PORT --bind 127.0.0.1\"\n";

struct Site {
  int port = free_port();
  std::unique_ptr<Family> f;
  explicit Site(const std::string& extra = "") {
    f = std::make_unique<Family>(
        fmt::format("nginx = \"private\"\nnginx_port = {}\ndomain = \"runbot.localhost\"\n{}", port,
                    extra),
        kBuild);
  }
  Cmd get(const std::string& host, const std::string& path = "/") const {
    return run({"curl", "-s", "-w", "\n%{http_code}", "-H", "Host: " + host,
                fmt::format("http://127.0.0.1:{}{}", port, path)});
  }
  std::string code(const std::string& host, const std::string& path = "/") const {
    std::string out = get(host, path).out;
    return out.substr(out.rfind('\n') + 1);
  }
  // Every running job answers 200 through nginx.
  bool all_instances_answer() const {
    auto st = f->status();
    for (const auto& j : st["jobs"])
      if (j["state"] == "running" &&
          code(fmt::format("{}.runbot.localhost", j["id"].get<int64_t>())) != "200")
        return false;
    return true;
  }
  // Ticks until every build is over and every instance answers through nginx. After a reload,
  // nginx's old workers may still take a connection for a moment (with the old config): the
  // answers must hold twice, a moment apart, without a tick in between.
  void settle_instances() const {
    ASSERT_TRUE(f->settle(60));
    for (int i = 0; i < 50; ++i) {
      if (all_instances_answer()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (all_instances_answer()) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      f->tick();
    }
  }
};

// Issue 14: right after the tick that reloaded nginx, a new instance's URL answered 404 for a
// moment (old workers still served the old config) while `status` already said `running`.
// Now the tick ends only when nginx serves the config's generation on every host it names.
TEST(SiteE2E, EveryRunningUrlAnswersAsSoonAsTheTickThatListedItEnds) {
  Site s;
  // A fresh job per round (a new commit on trunk): each tick that starts an instance reloads.
  int running_seen = 0;
  for (int round = 0; round < 3; ++round) {
    s.f->server->commit("trunk", "round.txt", std::to_string(round));
    for (int i = 0; i < 150; ++i) {
      Cmd t = s.f->tick();
      EXPECT_EQ(t.out.find("nginx does not serve"), std::string::npos) << t.out;
      // No wait between the tick and the requests: what status says holds when it ends.
      const std::string conf = read_text(s.f->state / "nginx" / "runbot.conf");
      const std::string generation = nginx_conf_generation(conf);
      ASSERT_FALSE(generation.empty()) << conf;
      EXPECT_TRUE(
          s.get("runbot.localhost", "/.runbot-generation").out.starts_with(generation + " "))
          << t.out << t.err;
      auto st = s.f->status();
      bool busy = false;
      for (const auto& j : st["jobs"]) {
        busy |= j["state"] == "pending" || j["state"] == "building";
        if (j["state"] != "running") continue;
        ++running_seen;
        const std::string host = fmt::format("{}.runbot.localhost", j["id"].get<int64_t>());
        EXPECT_TRUE(s.get(host, "/.runbot-generation").out.starts_with(generation + " "))
            << host << "\n"
            << t.out << t.err << conf;
        EXPECT_NE(s.code(host), "404") << host << " listed running by the tick that just ended";
      }
      if (!busy) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_GT(running_seen, 0);
}

TEST(SiteE2E, SiteAndInstancesThroughNginxByHostHeader) {
  Site s;
  s.f->addons->commit("trunk-feature", "feature.py", "x = 1\n");
  s.settle_instances();
  auto st = s.f->status();
  auto feature = jobs_of(st, "trunk-feature").at(0);
  ASSERT_EQ(feature["state"], "running") << feature.dump(2);
  EXPECT_EQ(feature["result"], "ok");
  EXPECT_EQ(feature["url"],
            fmt::format("http://{}.runbot.localhost:{}/", feature["id"].get<int>(), s.port));

  Cmd index = s.get("runbot.localhost");
  EXPECT_NE(index.out.find("trunk-feature"), std::string::npos) << index.out;
  EXPECT_NE(index.out.find(feature["url"].get<std::string>()), std::string::npos);
  Cmd instance = s.get(fmt::format("{}.runbot.localhost", feature["id"].get<int>()));
  EXPECT_NE(instance.out.find("addons/"), std::string::npos) << instance.out;
  EXPECT_NE(instance.out.find("server/"), std::string::npos);
  EXPECT_EQ(s.code("nosuchhost.example"), "404");
  EXPECT_EQ(s.code("999.runbot.localhost"), "404");
  // Logs through nginx, sources not.
  std::string log = feature["steps"][0]["log"];
  Cmd served = s.get("runbot.localhost", "/" + log);
  EXPECT_NE(served.out.find("testing trunk-feature"), std::string::npos) << served.out;
  EXPECT_EQ(s.code("runbot.localhost",
                   fmt::format("/jobs/{}/src/addons/feature.py", feature["id"].get<int>())),
            "404");
  Cmd json = s.get("runbot.localhost", "/status.json");
  auto doc = nlohmann::json::parse(json.out.substr(0, json.out.rfind('\n')), nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["version"], 1);
  EXPECT_TRUE(doc["updated_at"].is_string());

  // An idle tick rewrites nothing, and does not reload nginx.
  auto stamp = fs::last_write_time(s.f->state / "www" / "index.html");
  auto conf = fs::last_write_time(s.f->state / "nginx" / "runbot.conf");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Cmd idle = s.f->tick();
  EXPECT_EQ(idle.out, "") << idle.out;
  EXPECT_EQ(fs::last_write_time(s.f->state / "www" / "index.html"), stamp);
  EXPECT_EQ(fs::last_write_time(s.f->state / "nginx" / "runbot.conf"), conf);

  // kill stops the instance, frees its port and nginx forgets the host.
  int port = feature["port"];
  ASSERT_EQ(runbot(s.f->state, {"kill", std::to_string(feature["id"].get<int>())}).status, 0);
  s.f->tick();
  // nginx reloads asynchronously: old workers may answer for a moment.
  std::string after_kill;
  for (int i = 0; i < 50 && after_kill != "404"; ++i) {
    after_kill = s.code(fmt::format("{}.runbot.localhost", feature["id"].get<int>()));
    if (after_kill != "404") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after_kill, "404");
  Cmd bound = run({"python3", "-c",
                   fmt::format("import socket; s=socket.socket(); "
                               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                               "s.bind(('127.0.0.1', {})); s.listen(); print('free')",
                               port)});
  EXPECT_EQ(bound.out, "free\n") << bound.err;

  // wake restarts the killed job's instance on a free port; the next tick routes nginx to it.
  std::string host = fmt::format("{}.runbot.localhost", feature["id"].get<int>());
  Cmd woken = runbot(s.f->state, {"wake", std::to_string(feature["id"].get<int>())});
  ASSERT_EQ(woken.status, 0) << woken.err;
  s.f->tick();
  std::string after_wake;
  for (int i = 0; i < 50 && after_wake != "200"; ++i) {
    after_wake = s.code(host);
    if (after_wake != "200") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(after_wake, "200");
  EXPECT_EQ(jobs_of(s.f->status(), "trunk-feature").at(0)["state"], "running");
  EXPECT_EQ(runbot(s.f->state, {"wake", std::to_string(feature["id"].get<int>())}).status, 1)
      << "a running job cannot be woken";

  // clean stops nginx too.
  ASSERT_EQ(runbot(s.f->state, {"clean"}).status, 0);
  EXPECT_NE(s.code("runbot.localhost"), "200");
}

TEST(SiteE2E, NumberLimitHoldsWithMoreGroupsThanSlots) {
  Site s("number = 2");
  for (const char* b : {"trunk-a", "trunk-b", "trunk-c"}) s.f->addons->commit(b, "f.txt", b);
  ASSERT_TRUE(s.f->settle(60));
  s.f->tick();
  auto st = s.f->status();
  int running = 0;
  for (const auto& j : st["jobs"]) {
    if (j["state"] == "running") {
      ++running;
      EXPECT_TRUE(j["group"] == "trunk" || j["group"] == "6.0")
          << "newest base jobs are kept: " << j.dump();
    } else {
      EXPECT_EQ(j["state"], "done");
      auto marker = read_process_marker(s.f->state / "jobs" / std::to_string(j["id"].get<int>()) /
                                        "instance.json");
      if (marker && *marker) {
        EXPECT_FALSE(is_alive((**marker).process)) << j.dump();
        EXPECT_FALSE(group_alive((**marker).process.pid)) << j.dump();
      }
    }
  }
  EXPECT_EQ(running, 2);
  // Pinning a feature job keeps it over the limit only if protected ones leave room: here
  // the limit still holds (pinned and base alone exceed it -> oldest protected go first).
  EXPECT_EQ(runbot(s.f->state, {"keep", "1"}).status, 0);
  EXPECT_TRUE(jobs_of(s.f->status(), "trunk").at(0)["pinned"]);
}

TEST(SiteE2E, HostileBranchNameIsShownEscaped) {
  Site s;
  std::string evil = "x<img/src=x/onerror=alert(1)>";
  std::string rev = s.f->addons->commit("tmp-evil", "e.txt", "e");
  s.f->addons->git({"update-ref", "refs/heads/" + evil, rev});
  ASSERT_TRUE(s.f->settle(60));
  Cmd index = s.get("runbot.localhost");
  EXPECT_NE(index.out.find("x&lt;img/src=x/onerror=alert(1)&gt;"), std::string::npos) << index.out;
  EXPECT_EQ(index.out.find("<img/src=x"), std::string::npos);
  std::string conf = read_text(s.f->state / "nginx" / "runbot.conf");
  EXPECT_EQ(conf.find("img"), std::string::npos);
  for (const auto& e : fs::recursive_directory_iterator(s.f->state / "www"))
    EXPECT_EQ(e.path().string().find("img"), std::string::npos) << e.path();
}

// Real headless Chromium: loads the index through nginx (Chromium resolves *.localhost to
// loopback itself), checks the cells, then follows the Connect link to the instance.
TEST(SiteE2E, ChromiumLoadsTheIndexAndFollowsConnect) {
  if (!fs::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "chromium not installed (scripts/install-deps installs it)";
  Site s;
  s.f->addons->commit("trunk-ui", "ui.txt", "ui");
  s.settle_instances();
  TempDir profile;
  auto browse = [&](const std::string& url) {
    return run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile.path().string(), "--virtual-time-budget=3000",
                "--dump-dom", url});
  };
  Cmd dom = browse(fmt::format("http://runbot.localhost:{}/", s.port));
  ASSERT_EQ(dom.status, 0) << dom.err;
  // Cells: one per job with its result class, ages filled in by the page's script.
  EXPECT_NE(dom.out.find("class=\"job ok\""), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find(" ago</time>"), std::string::npos) << "age.js did not run";
  std::smatch m;
  std::regex connect("href=\"(http://([0-9]+)\\.runbot\\.localhost:[0-9]+/)\"[^>]*>Connect");
  ASSERT_TRUE(std::regex_search(dom.out, m, connect)) << dom.out;
  Cmd instance = browse(m[1]);
  ASSERT_EQ(instance.status, 0) << instance.err;
  EXPECT_NE(instance.out.find("addons/"), std::string::npos) << instance.out;
  EXPECT_NE(instance.out.find("server/"), std::string::npos) << instance.out;
  // A screenshot for people (kept in the build dir when SCREENSHOT_DIR is set).
  if (const char* dir = std::getenv("SCREENSHOT_DIR"))
    run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--user-data-dir=" + profile.path().string(), "--window-size=1200,900",
         "--screenshot=" + std::string(dir) + "/index.png",
         fmt::format("http://runbot.localhost:{}/", s.port)});
}

}  // namespace
}  // namespace runbot::test

namespace runbot::test {
namespace {

// Issue 14: the page of a garbage-collected job linked to its logs, gone with its folder (404).
TEST(SiteE2E, CollectedJobsPagesSayLogsRemovedInsteadOfLinkingToThem) {
  Family f("keep_per_group = 1", "steps = [{ name = \"test\", run = \"echo testing\" }]");
  ASSERT_TRUE(f.settle(60));
  const int64_t first = jobs_of(f.status(), "trunk").front()["id"].get<int64_t>();
  const std::string logs = fmt::format("jobs/{}/logs", first);
  ASSERT_NE(read_text(f.state / "www" / "job" / fmt::format("{}.html", first)).find(logs),
            std::string::npos);
  f.server->commit("trunk", "a.py", "newer\n");
  ASSERT_TRUE(f.settle(60));
  ASSERT_FALSE(fs::exists(f.state / logs)) << "job " << first << " was not collected";

  std::string page = read_text(f.state / "www" / "job" / fmt::format("{}.html", first));
  EXPECT_EQ(page.find(logs), std::string::npos) << page;
  EXPECT_EQ(page.find("log.html#"), std::string::npos) << page;
  EXPECT_NE(page.find("Logs removed by retention"), std::string::npos) << page;
  std::string group = read_text(f.state / "www" / "group" / "trunk.html");
  EXPECT_EQ(group.find(fmt::format("job={}&", first)), std::string::npos) << group;
  EXPECT_NE(group.find("removed by retention"), std::string::npos) << group;
}

}  // namespace
}  // namespace runbot::test
