// The site from runbot.db: pages, cells, escaping, what a changed job rewrites, errors.
#include "site/site.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <sqlite3.h>

#include <regex>

#include "site/names.h"
#include "site/nginx.h"
#include "site/status_json.h"
#include "site/view.h"
#include "site_fixture.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::contains;
using test::count;
using test::kNow;
using test::TempDir;

const std::string kEvilGroup = "x<img src=x onerror=alert(1)>";

// trunk: 5 (running ok), 4 (ko), 3 (building); evil group: 2 (warn), 1 (skipped).
class SiteTest : public test::SiteFixture {
 protected:
  void SetUp() override {
    SiteFixture::SetUp();
    add_group("trunk", true, false, {}, kNow);
    add_group(kEvilGroup, false, true, {"addons: no branch <b>x</b>, using trunk"}, kNow - 7200);
    Job evil = make_job(2, kEvilGroup, JobState::done, JobResult::warn, kNow - 7200);
    evil.reason = "<script>alert('reason')</script>";
    evil.note = "<script>alert('note')</script>";
    db->insert_job(make_job(1, kEvilGroup, JobState::done, JobResult::skipped, kNow - 9000));
    db->insert_job(evil);
    db->insert_job(make_job(3, "trunk", JobState::building, std::nullopt, kNow - 60));
    db->insert_job(make_job(4, "trunk", JobState::done, JobResult::ko, kNow - 3600));
    Job running = make_job(5, "trunk", JobState::running, JobResult::ok, kNow - 180);
    running.port = 8101;
    running.details = json{
        {"steps",
         json::parse(make_job(5, "trunk", JobState::done, JobResult::ok, 0).details)["steps"]},
        {"coverage", 81.5},
        {"artifacts",
         json::array()}}.dump();
    db->insert_job(running);
  }
  void change(int64_t id, const std::function<void(Job&)>& edit) {
    auto job = db->job(id);
    ASSERT_TRUE(job);
    edit(*job);
    db->update_job(*job);
  }
};

TEST_F(SiteTest, EscapesBranchReasonNoteAndWarnings) {
  publish();
  for (const std::string& page : {www("index.html"), www("job/2.html"), www("job/1.html"),
                                  www(group_page_path(kEvilGroup))}) {
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
  // Branch names never become file names unless they are plain names.
  for (const auto& entry : fs::recursive_directory_iterator(paths.www()))
    EXPECT_TRUE(std::regex_match(entry.path().filename().string(), std::regex("[A-Za-z0-9_.~-]+")))
        << entry.path();
  std::string key = "~" + std::string(
                              "783c696d67207372633d78206f6e6572726f723d616c657274283129"
                              "3e");
  EXPECT_EQ(published()["groups"][1]["badge"], "badge/" + key + ".svg");
  EXPECT_EQ(published()["groups"][1]["page"], "group/" + key + ".html");
  EXPECT_EQ(published()["groups"][0]["badge"], "badge/trunk.svg");
}

TEST_F(SiteTest, CellsAreColouredByResultThenState) {
  publish();
  std::string index = www("index.html");
  for (const char* cls : {"job ok", "job ko", "job building", "job warn", "job skipped"})
    EXPECT_EQ(count(index, std::string("class=\"") + cls + "\""), 1u) << cls;
  for (const char* cls : {"ok", "ko", "building", "warn", "skipped"})
    EXPECT_EQ(count(index, std::string("<td class=\"") + cls + "\">"), 1u) << cls;
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
  // Base groups first, with the filter's data: the newest job's result.
  EXPECT_LT(index.find(">trunk<"), index.find("x&lt;img"));
  EXPECT_NE(index.find("data-name=\"trunk\" data-result=\"running ok\""), std::string::npos);
}

TEST_F(SiteTest, ConnectOnlyForRunningJobs) {
  change(4, [](Job& j) { j.port = 8104; });  // done: never linked
  publish();
  std::string index = www("index.html");
  EXPECT_EQ(count(index, "class=\"connect\""), 1u);
  EXPECT_NE(index.find("href=\"http://5.runbot.localhost:8080/\">Connect"), std::string::npos);
  EXPECT_EQ(index.find("4.runbot.localhost"), std::string::npos);
  EXPECT_NE(www("job/5.html").find("Connect"), std::string::npos);
  EXPECT_EQ(www("job/4.html").find("Connect"), std::string::npos);
}

TEST_F(SiteTest, LinksLogsThroughTheViewerAndExistingArtifactsOnly) {
  change(4, [](Job& j) {
    json d = json::parse(j.details);
    d["steps"][0]["log"] = "jobs/4/../../runbot.toml";
    j.details = d.dump();
  });
  fs::create_directories(paths.job(5) / "src" / "coverage-html");
  config.projects.resize(2);
  config.projects[0].name = "web";
  config.projects[1].name = "server";
  change(5, [](Job& j) {
    j.revisions.push_back({"web", "fedcba", "trunk", "/srv/web.git", true});
  });
  publish();
  std::string index = www("index.html");
  EXPECT_NE(index.find("href=\"log.html#log=/jobs/5/logs/install.log&amp;job=5&amp;step=install"
                       "&amp;e=ERROR%7CTraceback&amp;w=WARNING\""),
            std::string::npos)
      << index;
  EXPECT_EQ(index.find("runbot.toml"), std::string::npos);
  EXPECT_NE(index.find("href=\"/jobs/5/src/coverage-html/\""), std::string::npos);
  EXPECT_EQ(index.find("/jobs/2/src/"), std::string::npos);
  std::string page = www("job/5.html");
  EXPECT_NE(page.find("href=\"/jobs/5/logs/install.log\""), std::string::npos);
  EXPECT_NE(page.find("href=\"../log.html#log=/jobs/5/logs/install.log"), std::string::npos);
  EXPECT_NE(page.find("href=\"../group/trunk.html\""), std::string::npos);
  EXPECT_NE(page.find("0123456789abcdef"), std::string::npos);
  EXPECT_NE(page.find("/srv/server.git"), std::string::npos);
  EXPECT_LT(page.find("<td>web</td>"), page.find("<td>server</td>"));  // build order
  EXPECT_EQ(www("job/4.html").find("runbot.toml"), std::string::npos);
}

TEST_F(SiteTest, IdlePublishWritesNothing) {
  auto first = publish();
  for (const char* file : {"index.html", "status.json", "style.css", "site.js", "log.html",
                           "log.js", "job/1.html", "group/trunk.html", "badge/trunk.svg"})
    EXPECT_TRUE(contains(first.written, file)) << file;
  EXPECT_EQ(published()["updated_at"], iso8601(kNow));
  auto mtime = fs::last_write_time(paths.www() / "status.json");

  EXPECT_TRUE(publish().written.empty());
  // Later, with the same content: status.json keeps its updated_at and is not rewritten.
  auto later = publish(kNow + 20);
  EXPECT_TRUE(later.written.empty());
  EXPECT_EQ(published()["updated_at"], iso8601(kNow));
  EXPECT_EQ(fs::last_write_time(paths.www() / "status.json"), mtime);
}

TEST_F(SiteTest, ChangedJobRewritesOnlyWhatShowsIt) {
  publish();
  EXPECT_NE(www("badge/trunk.svg").find(">ok<"), std::string::npos);
  std::string job4 = www("job/4.html");

  change(3, [](Job& j) {  // job 3 finishes ko; job 5 (ok) is still the newest
    j.state = JobState::done;
    j.result = JobResult::ko;
    j.finished_at = kNow;
  });
  auto r = publish(kNow + 30);
  std::sort(r.written.begin(), r.written.end());
  EXPECT_EQ(r.written, (std::vector<std::string>{"group/trunk.html", "group/trunk/1.html",
                                                 "index.html", "job/3.html", "status.json"}));
  EXPECT_EQ(published()["updated_at"], iso8601(kNow + 30));
  EXPECT_NE(www("job/3.html").find("title ko"), std::string::npos);

  change(5, [](Job& j) {  // job 5 killed: the group's badge turns grey
    j.state = JobState::done;
    j.result = JobResult::killed;
    j.port = 0;
  });
  r = publish(kNow + 60);
  std::sort(r.written.begin(), r.written.end());
  EXPECT_EQ(r.written,
            (std::vector<std::string>{"badge/trunk.svg", "group/trunk.html", "group/trunk/1.html",
                                      "index.html", "job/5.html", "status.json"}));
  EXPECT_NE(www("badge/trunk.svg").find(">killed<"), std::string::npos);
  EXPECT_EQ(www("job/4.html"), job4);
  EXPECT_EQ(published()["updated_at"], iso8601(kNow + 60));
}

TEST_F(SiteTest, FullRenderRemovesPagesAndBadgesThatLeftTheDb) {
  publish();
  std::string evil_badge = badge_path(kEvilGroup);
  ASSERT_TRUE(fs::exists(paths.www() / evil_badge));
  ASSERT_TRUE(fs::exists(paths.www() / group_page_path(kEvilGroup)));
  db->delete_job(1);
  db->delete_job(2);
  ASSERT_EQ(sqlite3_exec(db->handle(), "DELETE FROM \"groups\" WHERE name LIKE 'x<%'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  auto r = publish(kNow, true);
  EXPECT_FALSE(fs::exists(paths.www() / "job/1.html"));
  EXPECT_FALSE(fs::exists(paths.www() / "job/2.html"));
  EXPECT_FALSE(fs::exists(paths.www() / evil_badge));
  EXPECT_FALSE(fs::exists(paths.www() / group_page_path(kEvilGroup)));
  EXPECT_TRUE(fs::exists(paths.www() / "job/3.html"));
  EXPECT_TRUE(contains(r.removed, "job/1.html"));
  EXPECT_TRUE(contains(r.removed, evil_badge));
}

TEST_F(SiteTest, FullRenderProceedsInBoundedSlicesAndResumesAfterACrash) {
  for (int64_t id = 6; id <= 40; ++id)
    db->insert_job(make_job(id, id % 2 ? "trunk" : kEvilGroup, JobState::done, JobResult::ok,
                            kNow - 5000 + id));
  budget = 10;
  auto first = publish_site(config, paths, *db, kNow, nullptr, {Sync::later, budget});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->complete);
  // The newest pages come first; the index and status.json are whole at once.
  EXPECT_TRUE(fs::exists(paths.www() / "job/40.html"));
  EXPECT_TRUE(fs::exists(paths.www() / "job/31.html"));
  EXPECT_FALSE(fs::exists(paths.www() / "job/30.html"));
  EXPECT_EQ(published()["jobs"].size(), 40u);
  EXPECT_NE(www("index.html").find("job/40.html"), std::string::npos);
  // A crash now: a new Db on the same file resumes where the last slice ended.
  db = Db::open(paths.db());
  const std::set<int64_t> nothing;
  int calls = 1;
  for (bool complete = false; !complete && calls < 100; ++calls) {
    auto r = publish_site(config, paths, *db, kNow, &nothing, {Sync::later, budget});
    ASSERT_TRUE(r) << r.error().message;
    complete = r->complete;
    for (const std::string& file : r->written) EXPECT_NE(file, "job/40.html");
  }
  EXPECT_GE(calls, 5);  // 40 job pages, then the groups' pages, 10 at a time
  for (int64_t id = 1; id <= 40; ++id)
    EXPECT_TRUE(fs::exists(paths.www() / fmt::format("job/{}.html", id))) << id;
  EXPECT_TRUE(fs::exists(paths.www() / group_page_path(kEvilGroup)));
  EXPECT_TRUE(site_is_current(config, paths, *db));
}

TEST_F(SiteTest, StatusJsonHasOneJobPerLineAndTheWholeDocument) {
  publish();
  std::string text = www("status.json");
  EXPECT_EQ(text.rfind("{\"version\": 1, \"updated_at\": \"", 0), 0u);
  EXPECT_EQ(text.substr(StatusJsonWriter::kUpdatedAtOffset, StatusJsonWriter::kUpdatedAtSize),
            iso8601(kNow));
  json doc = json::parse(text);
  ASSERT_EQ(doc["jobs"].size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(doc["jobs"][i]["id"], 5 - i);
  EXPECT_EQ(doc["jobs"][0]["url"], "http://5.runbot.localhost:8080/");
  EXPECT_EQ(doc["jobs"][0]["port"], 8101);
  EXPECT_EQ(doc["jobs"][0]["coverage"], 81.5);
  EXPECT_EQ(doc["jobs"][3]["reason"], "<script>alert('reason')</script>");
  EXPECT_EQ(doc["next_job_id"], 1);  // the sequence, untouched by these hand-made jobs
  EXPECT_EQ(doc["groups"][1]["jobs"], json({2, 1}));
  EXPECT_EQ(doc["history"], json::array());
  // One line per job: a script can grep it.
  EXPECT_EQ(count(text, "\n  {\"id\":"), 5u);
}

TEST_F(SiteTest, IndexShowsTheNewestJobsOfEachGroupAndCountsTheRest) {
  config.runbot.keep_per_group = 1;  // at least 5 cells are shown whatever the retention
  for (int id = 6; id <= 12; ++id)
    db->insert_job(make_job(id, "trunk", JobState::done, JobResult::ok, kNow));
  publish();
  std::string index = www("index.html");
  for (int id : {12, 11, 10, 9, 8})
    EXPECT_NE(index.find("#" + std::to_string(id) + "<"), std::string::npos) << id;
  EXPECT_EQ(index.find("#7<"), std::string::npos);
  EXPECT_NE(index.find("and 5 older jobs"), std::string::npos);  // 7, 6, 5, 4, 3
  EXPECT_NE(index.find(">+5</a>"), std::string::npos);           // the compact row says so too
  EXPECT_LT(index.find("#12<"), index.find("#8<"));
}

TEST_F(SiteTest, ManyGroupsGetTheCompactViewOnly) {
  for (int g = 0; g < 150; ++g) add_group(fmt::format("feature-{:03}", g));
  publish();
  std::string index = www("index.html");
  EXPECT_NE(index.find("class=\"index view-compact\""), std::string::npos);
  EXPECT_EQ(index.find("<section class=\"group"), std::string::npos);
  EXPECT_EQ(count(index, "<tr data-name="), 152u);
  EXPECT_EQ(index.find("id=\"view-toggle\""), std::string::npos);
}

TEST_F(SiteTest, UnwritablePagesAreAnErrorAndKeepTheOldStatus) {
  publish();
  std::string before = www("status.json");
  fs::remove_all(paths.www() / "job");
  test::write_text(paths.www() / "job", "not a folder");
  change(4, [](Job& j) { j.result = JobResult::ok; });
  const std::set<int64_t> changed{4};
  auto r = publish_site(config, paths, *db, kNow + 60, &changed);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("job"), std::string::npos) << r.error().message;
  EXPECT_EQ(www("status.json"), before);
  for (const auto& entry : fs::directory_iterator(paths.www()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST_F(SiteTest, UnsoundRowIsAnErrorNotACrashAndKeepsTheSite) {
  publish();
  std::string before = www("status.json");
  ASSERT_EQ(sqlite3_exec(db->handle(), "UPDATE jobs SET revisions = 'not json' WHERE id = 4",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const std::set<int64_t> changed{4};
  for (const std::set<int64_t>* dirty :
       {&changed, static_cast<const std::set<int64_t>*>(nullptr)}) {
    auto r = publish_site(config, paths, *db, kNow + 60, dirty);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("revisions of job 4"), std::string::npos) << r.error().message;
    EXPECT_EQ(www("status.json"), before);
    EXPECT_TRUE(fs::exists(paths.www() / "job/3.html"));
  }
}

TEST_F(SiteTest, MissingTemplateIsAnError) {
  TempDir share;
  setenv("RUNBOT_SHARE", share.path().c_str(), 1);
  auto r = publish_site(config, paths, *db, kNow, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("site file missing"), std::string::npos) << r.error().message;
  fs::create_directories(share.path() / "www");
  for (const char* f : {"style.css", "age.js", "site.js", "log.html", "log.js"})
    test::write_text(share.path() / "www" / f, "");
  r = publish_site(config, paths, *db, kNow, nullptr);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(".mustache"), std::string::npos) << r.error().message;
}

class SiteNginxTest : public test::SiteFixture {};

TEST_F(SiteNginxTest, OneServerPerLiveInstance) {
  auto conf = render_nginx_conf(config, paths, {{7, 8101}, {230, 8102}});
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(count(*conf, "server {"), 4u);  // site, 2 instances, catch-all
  EXPECT_NE(conf->find("server_name \"7.runbot.localhost\";"), std::string::npos);
  EXPECT_NE(conf->find("proxy_pass http://127.0.0.1:8101;"), std::string::npos);
  EXPECT_NE(conf->find("server_name \"230.runbot.localhost\";"), std::string::npos);
  EXPECT_NE(conf->find("proxy_pass http://127.0.0.1:8102;"), std::string::npos);
  EXPECT_NE(conf->find("listen 8080 default_server;"), std::string::npos);
  // Run as root, the private nginx reads the site through its own mount namespace.
  std::string www = nginx_workers(config).staged ? std::string(kNginxStage) + "/www"
                                                 : paths.www().string();
  EXPECT_NE(conf->find("root \"" + www + "\";"), std::string::npos);
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
  NginxWorkers w = nginx_workers(config);
  std::string tmp = w.staged ? std::string(kNginxStage) + "/tmp" : dir + "/tmp";
  EXPECT_NE(conf->find("proxy_temp_path \"" + tmp + "/proxy\";"), std::string::npos);
  EXPECT_NE(conf->find("daemon on;"), std::string::npos);
  // Workers never run as root: as root, a named unprivileged user; otherwise no user line.
  EXPECT_EQ(conf->find("user \"root\""), std::string::npos);
  EXPECT_EQ(w.staged, geteuid() == 0);
  if (w.staged) {
    EXPECT_NE(w.uid, 0u);
    EXPECT_NE(conf->find("user \"" + w.user + "\""), std::string::npos);
  }
}

}  // namespace
}  // namespace runbot
