// History at scale: status.json holds the current jobs only, older ones go to history pages of
// 1,000 jobs written once, group pages hold every job by hundreds, and a publish renders the
// jobs that changed, not the history.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "site/names.h"
#include "site/status_json.h"
#include "site_fixture.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::contains;
using test::count;
using test::kNow;

class SiteHistoryTest : public test::SiteFixture {
 protected:
  // `n` done jobs spread over `groups` groups ("g0", "g1", ...), ids 1..n, in one transaction.
  void seed(int64_t n, int groups) {
    for (int g = 0; g < groups; ++g) add_group(fmt::format("g{}", g));
    Db::Transaction t(*db);
    for (int64_t id = 1; id <= n; ++id)
      db->insert_job(make_job(id, fmt::format("g{}", id % groups), JobState::done,
                              id % 10 ? JobResult::ok : JobResult::ko, kNow - 100000 + id));
    t.commit();
  }
  // What gc does: every job beyond the newest keep_per_group of its group leaves the current
  // jobs (and gets its place in the history).
  void collect() {
    Db::Transaction t(*db);
    for (int64_t id : db->jobs_to_collect(config.runbot.keep_per_group)) db->mark_collected(id);
    t.commit();
  }
  static std::vector<int64_t> ids(const json& jobs) {
    std::vector<int64_t> out;
    for (const json& j : jobs) out.push_back(j["id"].get<int64_t>());
    return out;
  }
};

TEST_F(SiteHistoryTest, StatusJsonHoldsTheCurrentJobsOnlyAndTheHistoryIsInPages) {
  seed(2150, 2);  // g0: even ids, g1: odd ids
  collect();      // 5 per group stay: 2150, 2148, ... and 2149, 2147, ...
  publish();
  json status = published();
  EXPECT_EQ(ids(status["jobs"]),
            (std::vector<int64_t>{2150, 2149, 2148, 2147, 2146, 2145, 2144, 2143, 2142, 2141}));
  EXPECT_EQ(status["groups"][0]["jobs"].size(), 5u);
  EXPECT_EQ(status["history"], json({"history/1.json", "history/2.json", "history/3.json"}));
  EXPECT_LT(www("status.json").size(), 20000u);  // not 2,150 job objects
  // Pages of 1,000 jobs, oldest first, the same job objects.
  json first = json::parse(www("history/1.json")), last = json::parse(www("history/3.json"));
  EXPECT_EQ(first["version"], 1);
  ASSERT_EQ(first["jobs"].size(), 1000u);
  EXPECT_EQ(first["jobs"][0]["id"], 1);
  EXPECT_EQ(first["jobs"][999]["id"], 1000);
  EXPECT_EQ(first["jobs"][9]["result"], "ko");
  EXPECT_EQ(first["jobs"][0]["steps"][0]["log"], "jobs/1/logs/install.log");
  EXPECT_EQ(ids(last["jobs"]).size(), 140u);  // 2,140 collected
  EXPECT_EQ(last["jobs"][139]["id"], 2140);
  // Every job has its page.
  for (int64_t id : {1, 999, 2140, 2150})
    EXPECT_TRUE(fs::exists(paths.www() / fmt::format("job/{}.html", id)));
}

TEST_F(SiteHistoryTest, AFullHistoryPageIsWrittenOnceAndNeverAgain) {
  seed(2100, 2);
  collect();  // 2,090 collected: pages 1, 2 full, page 3 with 90
  publish();
  auto stamp = [&](int n) { return fs::last_write_time(paths.www() / history_path(n)); };
  auto one = stamp(1), two = stamp(2);
  std::string page_one = www("history/1.json");
  // A job of a full page changes (as `keep --off` or a retention note would), and new jobs
  // come and push older ones into the history.
  Job old = *db->job(5);
  old.note = "changed after it left";
  db->update_job(old);
  {
    Db::Transaction t(*db);
    for (int64_t id = 2101; id <= 2120; ++id)
      db->insert_job(make_job(id, fmt::format("g{}", id % 2), JobState::done, JobResult::ok, kNow));
    t.commit();
  }
  collect();
  auto r = publish(kNow + 60);
  EXPECT_TRUE(contains(r.written, "history/3.json"));
  EXPECT_FALSE(contains(r.written, "history/1.json"));
  EXPECT_FALSE(contains(r.written, "history/2.json"));
  EXPECT_TRUE(contains(r.written, "job/5.html"));  // its own page says what changed
  EXPECT_EQ(www("history/1.json"), page_one);
  EXPECT_EQ(stamp(1), one);
  EXPECT_EQ(stamp(2), two);
  EXPECT_EQ(json::parse(www("history/3.json"))["jobs"].size(), 110u);
  // Nothing changed: nothing is written, not even the last page.
  EXPECT_TRUE(publish(kNow + 120).written.empty());
}

TEST_F(SiteHistoryTest, StatusAllStreamsEveryJob) {
  seed(1500, 3);
  collect();
  std::string current, all;
  auto into = [](std::string& out) {
    return [&out](std::string_view text) {
      out += text;
      return Status{};
    };
  };
  ASSERT_TRUE(write_status_json(config, paths, *db, kNow, false, into(current)));
  ASSERT_TRUE(write_status_json(config, paths, *db, kNow, true, into(all)));
  EXPECT_EQ(json::parse(current)["jobs"].size(), 15u);
  json every = json::parse(all);
  ASSERT_EQ(every["jobs"].size(), 1500u);
  EXPECT_EQ(every["jobs"][0]["id"], 1500);
  EXPECT_EQ(every["jobs"][1499]["id"], 1);
  EXPECT_EQ(every["history"].size(), 2u);
}

TEST_F(SiteHistoryTest, GroupPagesHoldTheWholeHistoryNewestFirstByHundreds) {
  seed(250, 1);
  collect();
  publish();
  auto rows = [&](const std::string& rel) {
    std::string page = www(rel);
    std::vector<int64_t> out;
    for (size_t at = page.find("data-id=\""); at != std::string::npos;
         at = page.find("data-id=\"", at + 1))
      out.push_back(std::stoll(page.substr(at + 9)));
    return out;
  };
  auto newest = rows("group/g0.html");
  ASSERT_EQ(newest.size(), 50u);
  EXPECT_EQ(newest.front(), 250);
  EXPECT_EQ(newest.back(), 201);
  auto second = rows("group/g0/2.html");
  ASSERT_EQ(second.size(), 100u);
  EXPECT_EQ(second.front(), 200);
  EXPECT_EQ(second.back(), 101);
  EXPECT_EQ(rows("group/g0/1.html").back(), 1);
  std::string main = www("group/g0.html");
  EXPECT_NE(main.find("250 jobs · page 3 of 3"), std::string::npos) << main;
  EXPECT_NE(main.find("href=\"g0/2.html\""), std::string::npos);
  EXPECT_NE(main.find("href=\"g0/1.html\""), std::string::npos);
  EXPECT_NE(www("group/g0/1.html").find("href=\"2.html\""), std::string::npos);
  EXPECT_NE(www("group/g0/1.html").find("href=\"../g0.html\""), std::string::npos);
  EXPECT_NE(www("index.html").find("href=\"group/g0.html\""), std::string::npos);
  // One more job: the newest page and its numbered twin, nothing older.
  db->insert_job(make_job(251, "g0", JobState::done, JobResult::ok, kNow));
  auto r = publish(kNow + 60);
  EXPECT_TRUE(contains(r.written, "group/g0.html"));
  EXPECT_TRUE(contains(r.written, "group/g0/3.html"));
  EXPECT_FALSE(contains(r.written, "group/g0/2.html"));
  EXPECT_FALSE(contains(r.written, "group/g0/1.html"));
  EXPECT_EQ(rows("group/g0.html").front(), 251);
}

// What a publish costs follows what changed: the same one-job change at 20 and at 3,000 jobs
// renders the same files, and only the changed job is rendered (the others come from the
// cache).
TEST_F(SiteHistoryTest, OneChangedJobRewritesTheSameFilesWhateverTheHistory) {
  seed(3000, 4);
  collect();
  publish();
  Job j = *db->job(2999);
  j.result = JobResult::ko;
  db->update_job(j);
  auto r = publish(kNow + 60);
  std::sort(r.written.begin(), r.written.end());
  std::string group = j.group;
  EXPECT_EQ(r.written,
            (std::vector<std::string>{"badge/" + group + ".svg", "group/" + group + ".html",
                                      fmt::format("group/{}/8.html", group), "index.html",
                                      "job/2999.html", "status.json"}));
  // The cache served every other current job: only job 2999's rendering changed.
  int stale = 0;
  db->for_each_current_job([&](CurrentJob&& c) { stale += c.cache ? 0 : 1; });
  EXPECT_EQ(stale, 0);
}

TEST_F(SiteHistoryTest, CollectedJobsWithoutAPlaceGetOne) {
  seed(30, 1);
  ASSERT_EQ(sqlite3_exec(db->handle(), "UPDATE jobs SET collected = 1 WHERE id <= 20", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  publish();
  EXPECT_EQ(db->history_size(), 20);
  EXPECT_EQ(json::parse(www("history/1.json"))["jobs"].size(), 20u);
  EXPECT_EQ(published()["jobs"].size(), 10u);
}

}  // namespace
}  // namespace runbot
