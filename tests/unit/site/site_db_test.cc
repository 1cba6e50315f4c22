// Publishing straight from runbot.db, the way ticks do: rows are turned into status.json objects
// on the page threads and their lines come back in order. Checked against publishing the same
// history as one document, and with a row that cannot be read.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>

#include "state/db.h"
#include "site/site.h"
#include "site/status_json.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::read_text;
using test::TempDir;

constexpr Time kNow = 1795000000;

// Every file under `root`, by path relative to it, with its content.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file())
      out[fs::relative(entry.path(), root).string()] = read_text(entry.path());
  return out;
}

class SiteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RUNBOT_SHARE", RUNBOT_TEST_SHARE, 1);
    paths.root = dir.path();
    db = Db::open(paths.db());
    // Three groups, 100 jobs: several batches of the page threads, every state and result.
    const char* groups[] = {"trunk", "trunk-feature", "trunk-<b>fix</b>"};
    for (int g = 0; g < 3; ++g)
      db->upsert_group({groups[g], "trunk", g == 0, g == 2, {}, kNow - 9000, kNow - 100 * g});
    const JobState states[] = {JobState::done, JobState::running, JobState::pending};
    const JobResult results[] = {JobResult::ok, JobResult::ko, JobResult::warn,
                                 JobResult::killed};
    for (int64_t id = 1; id <= 100; ++id) {
      Job j;
      j.id = id;
      j.group = groups[id % 3];
      j.revisions = {{"server", fmt::format("{:040d}", id), j.group, "/srv/server.git", false},
                     {"addons", fmt::format("{:040d}", id + 1), "trunk", "/srv/addons", true}};
      j.fingerprint = fmt::format("server={}", id);
      j.reason = id % 7 ? "new revisions" : "<script>alert(1)</script>";
      j.state = id > 97 ? states[id % 3] : JobState::done;
      if (j.state != JobState::pending) j.result = results[id % 4];
      j.created_at = kNow - 10000 + id * 60;
      j.started_at = j.state == JobState::pending ? 0 : j.created_at + 5;
      j.finished_at = j.state == JobState::done ? j.created_at + 65 : 0;
      j.port = j.state == JobState::running ? 8100 + static_cast<int>(id) : 0;
      j.details = json{{"steps",
                        {{{"name", "test"},
                          {"exit", id % 4 == 1 ? 1 : 0},
                          {"seconds", 12.5},
                          {"errors", id % 4 == 1 ? 2 : 0},
                          {"warnings", 0},
                          {"timed_out", false},
                          {"log", fmt::format("jobs/{}/logs/test.log", id)}}}},
                       {"coverage", id % 2 ? json(80.5) : json(nullptr)},
                       {"artifacts", json::array()}}
                      .dump();
      db->insert_job(j);
    }
  }

  TempDir dir;
  Paths paths;
  Config config;
  std::unique_ptr<Db> db;
};

TEST_F(SiteDbTest, RowsAndTheirDocumentPublishTheSameSite) {
  auto from_rows = publish_site(config, paths, status_source(config, paths, *db), kNow);
  ASSERT_TRUE(from_rows) << from_rows.error().message;
  // The pages, the badges, index.html, status.json, style.css and age.js.
  EXPECT_EQ(from_rows->written.size(), 100u + 3 + 4);

  TempDir other;
  Paths other_paths;
  other_paths.root = other.path();
  auto from_document =
      publish_site(config, other_paths, status_document(config, paths, *db), kNow);
  ASSERT_TRUE(from_document) << from_document.error().message;

  auto rows_site = tree(paths.www()), document_site = tree(other_paths.www());
  ASSERT_EQ(rows_site.size(), document_site.size());
  for (const auto& [file, content] : rows_site) EXPECT_EQ(content, document_site[file]) << file;
  // The lines came back in the rows' order: newest first.
  json status = json::parse(rows_site["status.json"]);
  ASSERT_EQ(status["jobs"].size(), 100u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(status["jobs"][i]["id"], 100 - i);
}

TEST_F(SiteDbTest, UnreadableRowIsAnErrorNotACrashAndKeepsTheSite) {
  auto first = publish_site(config, paths, status_source(config, paths, *db), kNow);
  ASSERT_TRUE(first) << first.error().message;
  std::string status_before = read_text(paths.www() / "status.json");
  ASSERT_EQ(sqlite3_exec(db->handle(),
                         "UPDATE jobs SET revisions = 'not json', note = 'x' WHERE id = 42",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  // A full publish (page threads) and one of the changed job only (inline) both refuse it.
  const std::set<int64_t> only{42};
  const std::set<int64_t>* none = nullptr;
  for (const std::set<int64_t>* dirty : {none, &only}) {
    auto r = publish_site(config, paths, status_source(config, paths, *db), kNow + 60, dirty);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("revisions of job 42"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(read_text(paths.www() / "status.json"), status_before);
    EXPECT_TRUE(fs::exists(paths.www() / "job/41.html"));
  }
}

}  // namespace
}  // namespace runbot
