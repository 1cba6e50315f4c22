#include "site/site.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "site/names.h"
#include "site/nginx.h"
#include "site/view.h"
#include "support/support.h"
#include "util/clock.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::read_text;
using test::TempDir;

const std::string kEvilGroup = "x<img src=x onerror=alert(1)>";
constexpr Time kNow = 1795000000;  // 2026-11-19T...

json make_job(int64_t id, const std::string& group, const std::string& state, json result,
              Time created) {
  json steps = json::array();
  if (state != "pending")
    steps.push_back({{"name", "install"},
                     {"exit", 0},
                     {"seconds", 1.5},
                     {"errors", 0},
                     {"warnings", 0},
                     {"timed_out", false},
                     {"log", "jobs/" + std::to_string(id) + "/logs/install.log"}});
  bool finished = !result.is_null();
  return {{"id", id},
          {"group", group},
          {"state", state},
          {"result", result},
          {"manual", false},
          {"pinned", false},
          {"reason", "new branch"},
          {"note", ""},
          {"revisions",
           {{"server",
             {{"rev", "0123456789abcdef"},
              {"branch", group},
              {"remote", "/srv/server.git"},
              {"fallback", false}}}}},
          {"created_at", iso8601(created)},
          {"started_at", state == "pending" ? json(nullptr) : json(iso8601(created + 10))},
          {"finished_at", finished ? json(iso8601(created + 75)) : json(nullptr)},
          {"steps", steps},
          {"coverage", nullptr},
          {"port", nullptr},
          {"url", nullptr}};
}

// trunk: 5 (running ok), 4 (ko), 3 (building); evil group: 2 (warn), 1 (pending).
json make_status() {
  json running = make_job(5, "trunk", "running", "ok", kNow - 180);
  running["port"] = 8101;
  running["url"] = "http://5.runbot.localhost:8080/";
  running["coverage"] = 81.5;
  json evil = make_job(2, kEvilGroup, "done", "warn", kNow - 7200);
  evil["reason"] = "<script>alert('reason')</script>";
  evil["note"] = "<script>alert('note')</script>";
  evil["revisions"]["server"]["branch"] = kEvilGroup;
  return {{"version", 1},
          {"next_job_id", 6},
          {"groups",
           {{{"name", "trunk"},
             {"base", "trunk"},
             {"is_base", true},
             {"deleted", false},
             {"warnings", json::array()},
             {"jobs", {5, 4, 3}}},
            {{"name", kEvilGroup},
             {"base", "trunk"},
             {"is_base", false},
             {"deleted", true},
             {"warnings", {"addons: no branch <b>x</b>, using trunk"}},
             {"jobs", {2, 1}}}}},
          {"jobs",
           {running, make_job(4, "trunk", "done", "ko", kNow - 3600),
            make_job(3, "trunk", "building", nullptr, kNow - 60), evil,
            make_job(1, kEvilGroup, "done", "skipped", kNow - 9000)}},
          {"remotes", json::array()}};
}

class SiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RUNBOT_SHARE", RUNBOT_TEST_SHARE, 1);
    paths.root = dir.path();
    config.build.artifacts = {"coverage-html"};
  }
  PublishResult publish(const json& status, Time now = kNow) {
    auto r = publish_site(config, paths, status, now);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : PublishResult{};
  }
  std::string www(const std::string& rel) { return read_text(paths.www() / rel); }
  json published() { return json::parse(www("status.json")); }

  TempDir dir;
  Paths paths;
  Config config;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST_F(SiteTest, EscapesBranchReasonNoteAndWarnings) {
  publish(make_status());
  for (const std::string& page : {www("index.html"), www("job/2.html"), www("job/1.html")}) {
    EXPECT_EQ(page.find("<img src=x"), std::string::npos);
    EXPECT_EQ(page.find("<script>alert"), std::string::npos);
    EXPECT_EQ(page.find("<b>x</b>"), std::string::npos);
    EXPECT_NE(page.find("x&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << page;
  }
  EXPECT_NE(www("job/2.html").find("&lt;script&gt;alert(&apos;note&apos;)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(www("index.html").find("title=\"&lt;script&gt;alert(&apos;reason&apos;)"),
            std::string::npos);
  EXPECT_NE(www("index.html").find("addons: no branch &lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  // Branch names never become file names.
  for (const auto& entry : fs::recursive_directory_iterator(paths.www()))
    EXPECT_TRUE(std::regex_match(entry.path().filename().string(), std::regex("[a-z0-9_.-]+")))
        << entry.path();
  EXPECT_EQ(published()["groups"][1]["badge"], "badge/" + badge_stem(kEvilGroup) + ".svg");
}

TEST_F(SiteTest, CellsAreColouredByResultThenState) {
  publish(make_status());
  std::string index = www("index.html");
  for (const char* cls : {"job ok", "job ko", "job building", "job warn", "job skipped"})
    EXPECT_EQ(count(index, std::string("class=\"") + cls + "\""), 1u) << cls;
  EXPECT_NE(www("job/4.html").find("title ko"), std::string::npos);
  // Ages come from absolute times (age.js shows "3 min ago" in the browser), so the page
  // does not change with the clock.
  EXPECT_NE(index.find("<time class=\"age\" datetime=\"" + iso8601(kNow - 180) + "\">" +
                       short_time(kNow - 180) + "</time>"),
            std::string::npos)
      << index;
  EXPECT_NE(index.find("<script src=\"age.js\""), std::string::npos);
  EXPECT_NE(index.find("1 min 5 s"), std::string::npos);  // finished - started
  EXPECT_NE(index.find("cov 81.5%"), std::string::npos);
  EXPECT_NE(index.find("<span class=\"tag deleted\">deleted</span>"), std::string::npos);
  EXPECT_NE(index.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(index.find("href=\"status.json\""), std::string::npos);
  // Groups keep the document's order.
  EXPECT_LT(index.find(">trunk<"), index.find("x&lt;img"));
}

TEST_F(SiteTest, ConnectOnlyForRunningJobs) {
  json status = make_status();
  status["jobs"][1]["url"] = "http://4.runbot.localhost:8080/";  // done: never linked
  publish(status);
  std::string index = www("index.html");
  EXPECT_EQ(count(index, "class=\"connect\""), 1u);
  EXPECT_NE(index.find("href=\"http://5.runbot.localhost:8080/\">Connect"), std::string::npos);
  EXPECT_EQ(index.find("4.runbot.localhost"), std::string::npos);
  EXPECT_NE(www("job/5.html").find("Connect"), std::string::npos);
  EXPECT_EQ(www("job/4.html").find("Connect"), std::string::npos);
}

TEST_F(SiteTest, LinksLogsAndExistingArtifactsOnly) {
  json status = make_status();
  status["jobs"][1]["steps"][0]["log"] = "jobs/4/../../runbot.toml";
  fs::create_directories(paths.job(5) / "src" / "coverage-html");
  config.projects.resize(2);
  config.projects[0].name = "web";
  config.projects[1].name = "server";
  status["jobs"][0]["revisions"]["web"] = {
      {"rev", "fedcba"}, {"branch", "trunk"}, {"remote", "/srv/web.git"}, {"fallback", true}};
  publish(status);
  std::string index = www("index.html");
  EXPECT_NE(index.find("href=\"/jobs/5/logs/install.log\""), std::string::npos);
  EXPECT_EQ(index.find("runbot.toml"), std::string::npos);
  EXPECT_NE(index.find("href=\"/jobs/5/src/coverage-html/\""), std::string::npos);
  EXPECT_EQ(index.find("/jobs/2/src/"), std::string::npos);
  std::string page = www("job/5.html");
  EXPECT_NE(page.find("href=\"/jobs/5/logs/install.log\""), std::string::npos);
  EXPECT_NE(page.find("0123456789abcdef"), std::string::npos);
  EXPECT_NE(page.find("/srv/server.git"), std::string::npos);
  EXPECT_LT(page.find("<td>web</td>"), page.find("<td>server</td>"));  // build order
}

TEST_F(SiteTest, IdlePublishWritesNothing) {
  auto first = publish(make_status());
  EXPECT_TRUE(contains(first.written, "index.html"));
  EXPECT_TRUE(contains(first.written, "status.json"));
  EXPECT_TRUE(contains(first.written, "style.css"));
  EXPECT_TRUE(contains(first.written, "job/1.html"));
  EXPECT_EQ(published()["updated_at"], iso8601(kNow));
  auto mtime = fs::last_write_time(paths.www() / "status.json");

  EXPECT_TRUE(publish(make_status()).written.empty());
  // Later, with the same content: status.json keeps its updated_at and is not rewritten.
  auto later = publish(make_status(), kNow + 20);
  EXPECT_FALSE(contains(later.written, "status.json"));
  EXPECT_EQ(published()["updated_at"], iso8601(kNow));
  EXPECT_EQ(fs::last_write_time(paths.www() / "status.json"), mtime);
}

TEST_F(SiteTest, ChangedJobRewritesOnlyWhatShowsIt) {
  publish(make_status());
  std::string trunk_badge = "badge/" + badge_stem("trunk") + ".svg";
  EXPECT_NE(www(trunk_badge).find(">ok<"), std::string::npos);
  std::string job4 = www("job/4.html");

  json status = make_status();
  status["jobs"][2]["state"] = "done";  // job 3 finishes ko; job 5 (ok) is still the newest
  status["jobs"][2]["result"] = "ko";
  status["jobs"][2]["finished_at"] = iso8601(kNow);
  auto r = publish(status, kNow + 30);
  std::sort(r.written.begin(), r.written.end());
  EXPECT_EQ(r.written, (std::vector<std::string>{"index.html", "job/3.html", "status.json"}));
  EXPECT_EQ(published()["updated_at"], iso8601(kNow + 30));
  EXPECT_NE(www("job/3.html").find("title ko"), std::string::npos);

  status["jobs"][0]["state"] = "done";  // job 5 killed: the group's badge turns grey
  status["jobs"][0]["result"] = "killed";
  status["jobs"][0]["port"] = nullptr;
  status["jobs"][0]["url"] = nullptr;
  r = publish(status, kNow + 60);
  std::sort(r.written.begin(), r.written.end());
  EXPECT_EQ(r.written,
            (std::vector<std::string>{trunk_badge, "index.html", "job/5.html", "status.json"}));
  EXPECT_NE(www(trunk_badge).find(">killed<"), std::string::npos);
  EXPECT_EQ(www("job/4.html"), job4);
  EXPECT_EQ(published()["updated_at"], iso8601(kNow + 60));
}

TEST_F(SiteTest, RemovesPagesAndBadgesThatLeftTheDocument) {
  publish(make_status());
  std::string evil_badge = "badge/" + badge_stem(kEvilGroup) + ".svg";
  ASSERT_TRUE(fs::exists(paths.www() / evil_badge));
  json status = make_status();
  status["groups"].erase(1);
  status["jobs"].erase(4);
  status["jobs"].erase(3);
  auto r = publish(status);
  EXPECT_FALSE(fs::exists(paths.www() / "job/1.html"));
  EXPECT_FALSE(fs::exists(paths.www() / "job/2.html"));
  EXPECT_FALSE(fs::exists(paths.www() / evil_badge));
  EXPECT_TRUE(fs::exists(paths.www() / "job/3.html"));
  EXPECT_TRUE(contains(r.removed, "job/1.html"));
  EXPECT_TRUE(contains(r.removed, evil_badge));
}

TEST_F(SiteTest, FreshSiteIsStagedThenMovedIntoPlace) {
  // What a publish killed half-way through a fresh site leaves behind.
  fs::create_directories(paths.www() / ".job.new");
  test::write_text(paths.www() / ".job.new" / "99.html", "half a page");
  auto r = publish(make_status());
  EXPECT_FALSE(fs::exists(paths.www() / ".job.new"));
  std::vector<std::string> pages;
  for (const auto& entry : fs::directory_iterator(paths.www() / "job"))
    pages.push_back(entry.path().filename().string());
  std::sort(pages.begin(), pages.end());
  EXPECT_EQ(pages, (std::vector<std::string>{"1.html", "2.html", "3.html", "4.html", "5.html"}));
  for (int id = 1; id <= 5; ++id)
    EXPECT_TRUE(contains(r.written, "job/" + std::to_string(id) + ".html")) << id;
  EXPECT_NE(www("job/5.html").find("#5"), std::string::npos);
}

TEST_F(SiteTest, StatusJsonHasOneJobPerLineAndTheWholeDocument) {
  publish(make_status());
  std::string text = www("status.json");
  EXPECT_EQ(text.rfind("{\"version\": 1, \"updated_at\": \"", 0), 0u);
  EXPECT_EQ(text.substr(StatusJsonWriter::kUpdatedAtOffset, StatusJsonWriter::kUpdatedAtSize),
            iso8601(kNow));
  json doc = json::parse(text);
  json expected = make_status();
  ASSERT_EQ(doc["jobs"].size(), expected["jobs"].size());
  for (size_t i = 0; i < expected["jobs"].size(); ++i)
    EXPECT_EQ(doc["jobs"][i], expected["jobs"][i]) << i;
  EXPECT_EQ(doc["next_job_id"], 6);
  EXPECT_EQ(doc["groups"][1]["jobs"], json({2, 1}));
  EXPECT_EQ(doc["groups"][0]["badge"], "badge/" + badge_stem("trunk") + ".svg");
  // One line per job: a script can grep it.
  EXPECT_EQ(count(text, "\n  {\"coverage\""), expected["jobs"].size());
}

TEST_F(SiteTest, IndexShowsTheNewestJobsOfEachGroupAndCountsTheRest) {
  config.runbot.keep_per_group = 1;  // at least 5 cells are shown whatever the retention
  json status = make_status();
  for (int id = 6; id <= 12; ++id) {
    status["jobs"].insert(status["jobs"].begin(), make_job(id, "trunk", "done", "ok", kNow));
    status["groups"][0]["jobs"].insert(status["groups"][0]["jobs"].begin(), id);
  }
  publish(status);
  std::string index = www("index.html");
  for (int id : {12, 11, 10, 9, 8})
    EXPECT_NE(index.find("#" + std::to_string(id) + "<"), std::string::npos) << id;
  EXPECT_EQ(index.find("#7<"), std::string::npos);
  EXPECT_NE(index.find("and 5 older jobs"), std::string::npos);  // 7, 6, 5, 4, 3
  EXPECT_LT(index.find("#12<"), index.find("#8<"));
}

TEST_F(SiteTest, UnwritablePagesAreAnErrorAndKeepTheOldStatus) {
  publish(make_status());
  std::string before = www("status.json");
  fs::remove_all(paths.www() / "job");
  test::write_text(paths.www() / "job", "not a folder");
  json status = make_status();
  status["jobs"][1]["result"] = "ok";
  auto r = publish_site(config, paths, status, kNow + 60);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("job"), std::string::npos) << r.error().message;
  EXPECT_EQ(www("status.json"), before);
  for (const auto& entry : fs::directory_iterator(paths.www()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST_F(SiteTest, BadDocumentIsAnErrorNotACrash) {
  EXPECT_FALSE(publish_site(config, paths, json::array(), kNow));
  json odd = {{"groups", {{{"name", 3}, {"jobs", {"x", nullptr, 99}}}}},
              {"jobs", {{{"id", "no"}}, {{"id", 7}, {"steps", 1}, {"revisions", {1, 2}}}}}};
  auto r = publish_site(config, paths, odd, kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(fs::exists(paths.www() / "job/7.html"));
}

TEST_F(SiteTest, MissingTemplateIsAnError) {
  TempDir share;
  setenv("RUNBOT_SHARE", share.path().c_str(), 1);
  auto r = publish_site(config, paths, make_status(), kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("index.html.mustache"), std::string::npos);
}

class SiteNginxTest : public SiteTest {};

TEST_F(SiteNginxTest, OneServerPerLiveInstance) {
  auto conf = render_nginx_conf(config, paths, {{7, 8101}, {230, 8102}});
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(count(*conf, "server {"), 4u);  // site, 2 instances, catch-all
  EXPECT_NE(conf->find("server_name \"7.runbot.localhost\";"), std::string::npos);
  EXPECT_NE(conf->find("proxy_pass http://127.0.0.1:8101;"), std::string::npos);
  EXPECT_NE(conf->find("server_name \"230.runbot.localhost\";"), std::string::npos);
  EXPECT_NE(conf->find("proxy_pass http://127.0.0.1:8102;"), std::string::npos);
  EXPECT_NE(conf->find("listen 8080 default_server;"), std::string::npos);
  EXPECT_NE(conf->find("root \"" + paths.www().string() + "\";"), std::string::npos);
  EXPECT_NE(conf->find("/src/coverage-html/"), std::string::npos);
  EXPECT_EQ(conf->find("&quot;"), std::string::npos);  // no HTML escaping in a config
  EXPECT_EQ(conf->find("trunk"), std::string::npos);

  auto none = render_nginx_conf(config, paths, {});
  ASSERT_TRUE(none);
  EXPECT_EQ(count(*none, "server {"), 2u);
  EXPECT_EQ(none->find("proxy_pass"), std::string::npos);
}

TEST_F(SiteNginxTest, RefusesValuesThatWouldBreakTheConfig) {
  config.runbot.domain = "x; include /etc/passwd";
  EXPECT_FALSE(render_nginx_conf(config, paths, {}));
  config.runbot.domain = "runbot.localhost";
  paths.root = "/tmp/a\"b$c";
  auto r = render_nginx_conf(config, paths, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("state directory"), std::string::npos);
  EXPECT_FALSE(render_nginx_main_conf(config, paths));
}

TEST_F(SiteNginxTest, MainConfKeepsEverythingUnderNginxDir) {
  auto conf = render_nginx_main_conf(config, paths);
  ASSERT_TRUE(conf) << conf.error().message;
  std::string dir = paths.nginx().string();
  EXPECT_NE(conf->find("pid \"" + dir + "/nginx.pid\";"), std::string::npos);
  EXPECT_NE(conf->find("include \"" + dir + "/runbot.conf\";"), std::string::npos);
  EXPECT_NE(conf->find("proxy_temp_path \"" + dir + "/tmp/proxy\";"), std::string::npos);
  EXPECT_NE(conf->find("daemon on;"), std::string::npos);
}

}  // namespace
}  // namespace runbot
