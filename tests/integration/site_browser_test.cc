// Real headless Chromium (WebDriver) on a real site through real nginx: the index's filter and
// compact view with 150+ groups, a group's pages, the log viewer on a 200 MB log (HTTP Range:
// only its tail and the parts asked for are downloaded) and on a building job's log (live).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "family.h"
#include "state/db.h"
#include "support/webdriver.h"
#include "util/clock.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

constexpr int64_t kBigJob = 5000;
constexpr int64_t kBigLog = 200 * 1024 * 1024;

// A done job recorded the way reap leaves it, with one step whose log is `log`.
Job done_job(int64_t id, const std::string& group, JobResult result, Time created,
             const std::string& step = "test") {
  Job j;
  j.id = id;
  j.group = group;
  j.revisions = {{"server", std::string(40, 'a'), group, "/srv/server.git", false}};
  j.fingerprint = fmt::format("seeded={}", id);
  j.reason = "seeded";
  j.state = JobState::done;
  j.result = result;
  j.created_at = created;
  j.started_at = created + 5;
  j.finished_at = created + 65;
  j.details = json{{"steps",
                    {{{"name", step},
                      {"exit", result == JobResult::ko ? 1 : 0},
                      {"seconds", 60.0},
                      {"errors", result == JobResult::ko ? 1 : 0},
                      {"warnings", 0},
                      {"timed_out", false},
                      {"log", fmt::format("jobs/{}/logs/{}.log", id, step)}}}},
                   {"coverage", nullptr},
                   {"artifacts", json::array()}}
                  .dump();
  return j;
}

// 200 MB: a few lines, a hole (sparse: nothing is written), then a 1 MB tail of lines with an
// error and a warning near the end and one error 200 KB before it.
void write_big_log(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << "first line of the log\n";
  std::string tail;
  bool early = false;
  for (int i = 0; tail.size() < 1024 * 1024; ++i) {
    if (!early && tail.size() >= (1024 - 200) * 1024) {
      tail += "ERROR early failure, 200 KB before the end\n";
      early = true;
    }
    tail += fmt::format("tail line {} of the build\n", i);
  }
  tail += "WARNING almost done\nERROR Traceback at the very end\nlast line\n";
  out.seekp(kBigLog - static_cast<int64_t>(tail.size()));
  out << tail;
}

struct BrowserSite {
  int port = free_port();
  std::unique_ptr<Family> f;
  std::unique_ptr<Browser> browser;
  std::string why;

  explicit BrowserSite(const std::string& build) {
    f = std::make_unique<Family>(
        fmt::format("nginx = \"private\"\nnginx_port = {}\ndomain = \"runbot.localhost\"\n", port),
        build);
    browser = Browser::start(&why);
  }
  std::string url(const std::string& path) const {
    return fmt::format("http://runbot.localhost:{}/{}", port, path);
  }
  // Groups feature-000..feature-149 with a few jobs each, 250 in feature-000, and job 5000
  // (feature-001) whose test log is 200 MB.
  void seed() {
    auto db = Db::open(f->state / "runbot.db");
    Time t = now() - 100000;
    Db::Transaction tx(*db);
    for (int g = 0; g < 150; ++g)
      db->upsert_group({fmt::format("feature-{:03}", g), "trunk", false, false, {}, t, t + g});
    int64_t id = 1000;
    for (int n = 0; n < 250; ++n)
      db->insert_job(done_job(id++, "feature-000", n % 3 ? JobResult::ok : JobResult::warn, t + n));
    for (int g = 2; g < 150; ++g)
      db->insert_job(done_job(id++, fmt::format("feature-{:03}", g),
                              g % 4 ? JobResult::ok : JobResult::ko, t + g));
    db->insert_job(done_job(kBigJob, "feature-001", JobResult::ko, t + 500, "big"));
    db->raise_next_job_id(10000);
    tx.commit();
    write_big_log(f->state / "jobs" / std::to_string(kBigJob) / "logs" / "big.log");
  }
  // Bytes nginx sent for requests of `path` (its access log: combined format).
  int64_t bytes_sent_for(const std::string& path) const {
    std::ifstream in(f->state / "nginx" / "access.log");
    std::regex line("\"GET ([^ ]+) [^\"]*\" ([0-9]+) ([0-9]+)");
    int64_t total = 0;
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (std::regex_search(l, m, line) && m[1] == path) total += std::stoll(m[3]);
    }
    return total;
  }
};

// The number of index rows the filter shows, and a script that is true when it is `n`.
const std::string kRows =
    "Array.from(document.querySelectorAll('#groups tr')).filter(r => !r.hidden).length";
const std::string kVisibleRows = "return " + kRows + ";";
std::string rows_are(int n) { return fmt::format("return {} === {};", kRows, n); }

TEST(SiteBrowser, FilterCompactViewGroupPagesAndTheLogViewerOnA200MBLog) {
  BrowserSite s("steps = [{ name = \"test\", run = \"echo built\" }]");
  if (!s.browser) GTEST_SKIP() << s.why;
  ASSERT_TRUE(s.f->settle(60));
  s.seed();
  ASSERT_EQ(s.f->tick().status, 0);
  Browser& b = *s.browser;

  // The index: 152 groups, so the compact view (one row per group) is the default.
  b.go(s.url(""));
  ASSERT_TRUE(b.wait_for("return document.readyState === 'complete';", 10));
  EXPECT_EQ(b.js("return document.body.className;"), "index view-compact");
  EXPECT_EQ(b.js(kVisibleRows), 152);
  EXPECT_EQ(b.js("return document.querySelectorAll('section.group').length;"), 0);
  EXPECT_EQ(b.js("return document.querySelector('tr[data-name=\"feature-000\"]')"
                 ".querySelectorAll('td').length;"),
            6);  // its 5 newest jobs and "+N"

  // Typing in the filter box narrows the rows to the names that contain the text.
  b.type(b.find("#filter-name"), "feature-01");
  ASSERT_TRUE(b.wait_for(rows_are(10), 5)) << b.js(kVisibleRows);
  EXPECT_EQ(b.text(b.find("#filter-count")), "10 of 152 groups");
  // And the result filter keeps those whose newest job is ko (feature-012 and feature-016).
  b.click(b.find("#filter-result"));
  b.click(b.find("#filter-result option[value=ko]"));
  ASSERT_TRUE(b.wait_for(rows_are(2), 5)) << b.js(kVisibleRows);
  EXPECT_EQ(b.js("return Array.from(document.querySelectorAll('#groups tr')).filter(r => "
                 "!r.hidden).map(r => r.dataset.name).join(' ');"),
            "feature-016 feature-012");
  // The filter is in the address: reloading it gives the same rows.
  EXPECT_EQ(b.js("return location.hash;"), "#q=feature-01&r=ko");
  b.go(s.url("#q=feature-00&r=warn"));
  ASSERT_TRUE(b.wait_for("return document.readyState === 'complete';", 10));
  ASSERT_TRUE(b.wait_for(rows_are(1), 5)) << b.js(kVisibleRows);

  // A group's page from the index: its newest jobs first, then older pages of 100.
  b.click(b.find("tr[data-name=\"feature-000\"] th a"));
  ASSERT_TRUE(b.wait_for("return location.pathname.endsWith('/group/feature-000.html');", 10));
  json ids = b.js(
      "return Array.from(document.querySelectorAll('#history tr[data-id]'))"
      ".map(r => +r.dataset.id);");
  ASSERT_EQ(ids.size(), 50u) << ids.dump();
  EXPECT_EQ(ids[0], 1249);
  EXPECT_EQ(ids[49], 1200);
  b.click(b.find("a.older"));
  ASSERT_TRUE(b.wait_for("return location.pathname.endsWith('/group/feature-000/2.html');", 10));
  ids = b.js(
      "return Array.from(document.querySelectorAll('#history tr[data-id]'))"
      ".map(r => +r.dataset.id);");
  ASSERT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids[0], 1199);
  EXPECT_EQ(ids[99], 1100);

  // The log viewer on the 200 MB log: from the job's page, its step's "view" link.
  b.go(s.url(fmt::format("job/{}.html", kBigJob)));
  ASSERT_TRUE(b.wait_for("return document.readyState === 'complete';", 10));
  b.click(b.find("a.viewer"));
  ASSERT_TRUE(b.wait_for("return document.getElementById('log').dataset.loaded === 'yes';", 20))
      << b.js("return document.body.innerText;");
  std::string range = b.text(b.find("#log-range"));
  EXPECT_NE(range.find(fmt::format("of {}", kBigLog)), std::string::npos) << range;
  // The tail's error and warning lines are highlighted and listed, each with its anchor.
  EXPECT_EQ(b.js("return document.querySelectorAll('#log .line.error').length;"), 1);
  EXPECT_EQ(b.js("return document.querySelectorAll('#log .line.warning').length;"), 1);
  EXPECT_EQ(b.js("return document.querySelector('#log .line.error').textContent;"),
            "ERROR Traceback at the very end\n");
  EXPECT_EQ(
      b.js("return document.querySelector('#log .line.error').id;"),
      fmt::format("b{}",
                  kBigLog - std::string("ERROR Traceback at the very end\nlast line\n").size()));
  EXPECT_EQ(b.js("return document.querySelectorAll('#log-marks a.mark').length;"), 2);
  // Earlier parts on demand: the error 200 KB before the end appears, lines stay whole.
  b.click(b.find("#log-earlier"));
  ASSERT_TRUE(b.wait_for("return document.querySelectorAll('#log .line.error').length === 2;", 10));
  EXPECT_EQ(b.js("return document.querySelectorAll('#log .line.error')[0].textContent;"),
            "ERROR early failure, 200 KB before the end\n");
  EXPECT_EQ(b.js("return Array.from(document.querySelectorAll('#log .line')).filter(l => "
                 "!/^(tail line [0-9]+ of the build|ERROR .*|WARNING .*|last line)\\n$/"
                 ".test(l.textContent)).length;"),
            0);
  // Nothing like the whole log went over the wire: its tail, and the part asked for.
  int64_t sent = s.bytes_sent_for(fmt::format("/jobs/{}/logs/big.log", kBigJob));
  EXPECT_GT(sent, 64 * 1024);
  EXPECT_LT(sent, 1024 * 1024) << "the viewer downloaded " << sent << " bytes";
  if (const char* dir = std::getenv("SCREENSHOT_DIR")) {
    b.screenshot(fs::path(dir) / "log.png");
    b.go(s.url(""));
    b.screenshot(fs::path(dir) / "index-compact.png");
  }
}

// The viewer follows a building job's log as its step writes it, and stops once the job's
// page says the build is over.
TEST(SiteBrowser, LogViewerFollowsABuildingJobLive) {
  BrowserSite s(
      "steps = [{ name = \"slow\", run = \"for i in $(seq 1 40); do echo line $i; "
      "[ $i = 3 ] && echo ERROR on line $i; sleep 0.25; done; true\" }]");
  if (!s.browser) GTEST_SKIP() << s.why;
  ASSERT_EQ(s.f->tick().status, 0);
  json job;
  for (int i = 0; i < 100 && job.is_null(); ++i) {
    json st = s.f->status();  // kept alive while ranging over its jobs
    for (const json& j : st["jobs"])
      if (j["state"] == "building") job = j;
    if (job.is_null()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s.f->tick();
    }
  }
  ASSERT_FALSE(job.is_null()) << s.f->status().dump(2);
  int64_t id = job["id"];
  Browser& b = *s.browser;
  b.go(s.url(fmt::format("log.html#log=/jobs/{}/logs/slow.log&job={}&step=slow&e=ERROR&w=WARNING",
                         id, id)));
  ASSERT_TRUE(b.wait_for("return document.getElementById('log').dataset.loaded === 'yes';", 20))
      << b.js("return document.body.innerText;");
  int64_t first = b.js("return document.querySelectorAll('#log .line').length;");
  EXPECT_LT(first, 40);
  EXPECT_TRUE(b.wait_for("return document.getElementById('log').classList.contains('live');", 10));
  // More lines arrive while the step writes them; the error line is highlighted.
  ASSERT_TRUE(b.wait_for("return document.querySelectorAll('#log .line').length >= 41;", 30))
      << b.js("return document.querySelectorAll('#log .line').length;");
  EXPECT_EQ(b.js("return document.querySelectorAll('#log .line.error').length;"), 1);
  EXPECT_EQ(b.js("return document.querySelector('#log .line.error').textContent;"),
            "ERROR on line 3\n");
  // The tick that ends the build rewrites its page: the viewer stops following.
  bool stopped = false;
  for (int i = 0; i < 60 && !stopped; ++i) {
    s.f->tick();
    stopped = b.wait_for("return document.getElementById('log').dataset.followed === 'done';", 1);
  }
  EXPECT_TRUE(stopped) << b.js("return document.getElementById('log-state').textContent;");
  EXPECT_EQ(b.js("return document.querySelectorAll('#log .line').length;"), 41);
}

}  // namespace
}  // namespace runbot::test
