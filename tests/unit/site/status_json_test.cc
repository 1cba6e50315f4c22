// A job row -> its facts -> its status.json line through the streaming JSON writer (no JSON
// tree per job). Checked against the object the line stands for, built the way SPEC describes
// it with a JSON library, and the writer against hostile text.
#include "site/status_json.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "site/json_writer.h"
#include "state/db.h"
#include "support/support.h"
#include "util/clock.h"

namespace runbot {
namespace {

using nlohmann::json;
using test::TempDir;

constexpr Time kNow = 1795000000;

json compact_roundtrip(const std::string& line) {
  return json::parse(line);  // throws on a line that is not JSON: the test fails loudly
}

std::string canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Stored steps as status.json shows them: objects only, every field with its default.
json typed_steps(const json& steps) {
  json out = json::array();
  if (!steps.is_array()) return out;
  for (const json& s : steps) {
    if (!s.is_object()) continue;
    auto get = [&](const char* k, json fallback, bool (json::*is)() const) {
      auto it = s.find(k);
      return it != s.end() && ((*it).*is)() ? *it : fallback;
    };
    out.push_back({{"name", get("name", "", &json::is_string)},
                   {"exit", get("exit", nullptr, &json::is_number_integer)},
                   {"seconds", get("seconds", nullptr, &json::is_number)},
                   {"errors", get("errors", 0, &json::is_number_integer)},
                   {"warnings", get("warnings", 0, &json::is_number_integer)},
                   {"timed_out", get("timed_out", false, &json::is_boolean)},
                   {"log", get("log", "", &json::is_string)}});
  }
  return out;
}

// Stored errors as status.json shows them.
json typed_errors(const json& errors) {
  json out = json::array();
  if (!errors.is_array()) return out;
  for (const json& e : errors)
    out.push_back({{"fingerprint", e.value("fingerprint", "")},
                   {"class", e.value("class", "")},
                   {"step", e.value("step", "")},
                   {"text", e.value("text", "")},
                   {"line", e.value("line", 0)}});
  return out;
}

// SPEC "Executors": {"kind", "id" (when it has one), "host"}; null for a job never started.
json executor_object(const Job& job) {
  if (!job.started_at && job.host.empty()) return nullptr;
  json e = {{"kind", job.executor}, {"host", job.host.empty() ? json(nullptr) : json(job.host)}};
  if (!job.executor_id.empty()) e["id"] = job.executor_id;
  return e;
}

// What the line must hold, built independently of the line writer: status.json's job object.
json expected_object(const Config& config, const Job& job) {
  json revisions = json::object();
  for (const Revision& r : job.revisions)
    revisions[r.project] = {
        {"rev", r.rev}, {"branch", r.branch}, {"remote", r.remote}, {"fallback", r.fallback}};
  // The project's main remote is not repeated in every job (status.json stays small).
  for (const Revision& r : job.revisions)
    if (const ProjectConfig* p = config.project(r.project); p && p->remotes.at(0) == r.remote)
      revisions[r.project].erase("remote");
  json details = job.details.empty() ? json::object() : json::parse(job.details, nullptr, false);
  if (!details.is_object()) details = json::object();
  auto time = [](Time t) { return t ? json(iso8601(t)) : json(nullptr); };
  bool live = job.state == JobState::running && job.port;
  return {{"id", job.id},
          {"group", job.group},
          {"state", to_string(job.state)},
          {"result", job.result ? json(to_string(*job.result)) : json(nullptr)},
          {"manual", job.manual},
          {"pinned", job.pinned},
          {"reason", job.reason},
          {"note", job.note},
          {"revisions", revisions},
          {"created_at", time(job.created_at)},
          {"started_at", time(job.started_at)},
          {"finished_at", time(job.finished_at)},
          {"steps", typed_steps(details.contains("steps") ? details["steps"] : json::array())},
          {"errors", typed_errors(details.contains("errors") ? details["errors"] : json::array())},
          {"coverage", details.contains("coverage") && details["coverage"].is_number()
                           ? details["coverage"]
                           : json(nullptr)},
          {"port", live ? json(job.port) : json(nullptr)},
          {"url", live ? json(instance_url(config.runbot, job.id)) : json(nullptr)},
          {"executor", executor_object(job)}};
}

Job base_job(int64_t id) {
  Job j;
  j.id = id;
  j.group = "trunk-feature";
  j.fingerprint = fmt::format("f{}", id);
  j.revisions = {{"server", std::string(40, 'a'), "trunk-feature", "/srv/server.git", false},
                 {"addons", std::string(40, 'b'), "trunk", "/srv/addons", true}};
  j.reason = "server moved";
  j.state = JobState::done;
  j.result = JobResult::ok;
  j.created_at = kNow - 600;
  j.started_at = kNow - 590;
  j.finished_at = kNow - 300;
  j.details = json{{"steps",
                    {{{"name", "install"},
                      {"exit", 0},
                      {"seconds", 40.5},
                      {"errors", 0},
                      {"warnings", 1},
                      {"timed_out", false},
                      {"log", fmt::format("jobs/{}/logs/install.log", id)}},
                     {{"name", "test"},
                      {"exit", 1},
                      {"seconds", 0.1},
                      {"errors", 2},
                      {"warnings", 0},
                      {"timed_out", true},
                      {"log", fmt::format("jobs/{}/logs/test.log", id)}}}},
                   {"coverage", 80.25},
                   {"errors",
                    {{{"class", "known"},
                      {"fingerprint", "0123456789abcdef"},
                      {"line", 12},
                      {"step", "test"},
                      {"text", "ERROR boom <b>"}}}},
                   {"error_texts", {"ERROR boom <b>\nmore"}},
                   {"error_count", 3},
                   {"artifacts", json::array()}}
                  .dump();
  return j;
}

class StatusLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths.root = dir.path();
    db = Db::open(paths.db());
    // server's revisions come from its main remote, addons' from elsewhere (a fork).
    config.projects.resize(2);
    config.projects[0].name = "server";
    config.projects[0].remotes = {"/srv/server.git"};
    config.projects[1].name = "addons";
    config.projects[1].remotes = {"/srv/addons-main"};
  }

  struct Published {
    std::string line;
    JobFacts facts;
  };
  // Each stored job's line and facts, by id.
  std::map<int64_t, Published> published() {
    std::map<int64_t, Published> out;
    db->for_each_job_row(false, [&](JobRow&& row) {
      JobFacts facts = job_facts(config, paths, row);
      out[row.job.id] = {job_line(facts), facts};
      return true;
    });
    return out;
  }

  TempDir dir;
  Paths paths;
  Config config;
  std::unique_ptr<Db> db;
};

TEST_F(StatusLineTest, LinesAreTheJobObjectsAndFactsAreWhatTheLinesSay) {
  std::vector<Job> jobs;
  jobs.push_back(base_job(1));  // done, ok, steps and coverage
  {
    Job j = base_job(2);  // text that JSON must escape, and UTF-8
    j.reason = "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f";
    j.note = "caf\xc3\xa9 \xe2\x9c\x93 </script>";
    j.group = "x<img/src=x/onerror=alert(1)>";
    j.manual = true;
    j.pinned = true;
    jobs.push_back(j);
  }
  {
    Job j = base_job(3);  // invalid UTF-8 (branch names are bytes): replaced, as nlohmann does
    j.reason = "bad \xff\xfe bytes";
    j.revisions[0].branch = "br\xc3";
    jobs.push_back(j);
  }
  {
    Job j = base_job(4);  // a live instance; projects out of order, one given twice
    j.state = JobState::running;
    j.port = 8123;
    j.revisions = {{"web", std::string(40, 'c'), "trunk", "/srv/web", true},
                   {"addons", std::string(40, 'd'), "trunk-feature", "/srv/a", false},
                   {"addons", std::string(40, 'e'), "trunk-feature", "/srv/b", false}};
    jobs.push_back(j);
  }
  {
    Job j = base_job(5);  // pending: no result, no times, no details
    j.state = JobState::pending;
    j.result.reset();
    j.started_at = j.finished_at = 0;
    j.details.clear();
    jobs.push_back(j);
  }
  {
    // Stored details that are not an object, and a port on a job no longer running.
    Job j = base_job(6);
    j.details = "[1, 2";
    j.state = JobState::done;
    j.result = JobResult::killed;
    j.port = 8124;
    jobs.push_back(j);
  }
  {
    Job j = base_job(7);  // steps of unexpected shapes: what can be read of them
    j.details = R"({"steps": [{"name": "odd", "exit": null, "seconds": "soon"}, 3],
                    "coverage": "n/a"})";
    jobs.push_back(j);
  }
  {
    Job j = base_job(8);  // building: details read live from its (absent) markers
    j.state = JobState::building;
    j.result.reset();
    j.finished_at = 0;
    j.details.clear();
    jobs.push_back(j);
  }
  for (const Job& j : jobs) db->insert_job(j);

  auto lines = published();
  ASSERT_EQ(lines.size(), jobs.size());
  for (const Job& j : jobs) {
    SCOPED_TRACE(fmt::format("job {}", j.id));
    const auto& p = lines.at(j.id);
    json parsed = compact_roundtrip(p.line);
    // The line is that object, keys in SPEC's order, one line.
    EXPECT_EQ(parsed, json::parse(canonical(expected_object(config, j))));
    EXPECT_EQ(p.line.rfind("{\"id\":", 0), 0u);
    EXPECT_EQ(p.line.find('\n'), std::string::npos);
    // The facts a page is rendered from say what the line says.
    EXPECT_EQ(p.facts.reason, parsed["reason"].get<std::string>());
    EXPECT_EQ(p.facts.group, parsed["group"].get<std::string>());
    EXPECT_EQ(p.facts.steps.size(), parsed["steps"].size());
  }
  // Spot checks of what the line says, in SPEC's terms.
  json running = json::parse(lines.at(4).line);
  EXPECT_EQ(running["port"], 8123);
  EXPECT_EQ(running["url"], instance_url(config.runbot, 4));
  EXPECT_EQ(running["revisions"]["addons"]["rev"], std::string(40, 'e'));
  EXPECT_EQ(running["revisions"]["addons"]["remote"], "/srv/b");  // a fork: named
  json first = json::parse(lines.at(1).line);
  EXPECT_FALSE(first["revisions"]["server"].contains("remote"));  // its main remote
  EXPECT_EQ(first["revisions"]["addons"]["remote"], "/srv/addons");
  json killed = json::parse(lines.at(6).line);
  EXPECT_TRUE(killed["port"].is_null());
  EXPECT_EQ(killed["steps"], json::array());
  json pending = json::parse(lines.at(5).line);
  EXPECT_TRUE(pending["result"].is_null());
  EXPECT_TRUE(pending["started_at"].is_null());
  EXPECT_NE(lines.at(3).line.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  EXPECT_EQ(lines.at(1).facts.steps.size(), 2u);
  EXPECT_EQ(json::parse(lines.at(1).line)["errors"][0]["fingerprint"], "0123456789abcdef");
  ASSERT_EQ(lines.at(1).facts.errors.size(), 1u);
  EXPECT_EQ(lines.at(1).facts.errors[0].trace, "ERROR boom <b>\nmore");
  EXPECT_EQ(lines.at(1).facts.error_count, 3);
  EXPECT_EQ(lines.at(1).facts.steps[1].timed_out, true);
  EXPECT_EQ(lines.at(1).facts.coverage, 80.25);
  EXPECT_EQ(lines.at(4).facts.revisions.size(), 2u);
  json odd = json::parse(lines.at(7).line);
  ASSERT_EQ(odd["steps"].size(), 1u);
  EXPECT_EQ(odd["steps"][0]["name"], "odd");
  EXPECT_TRUE(odd["steps"][0]["seconds"].is_null());
  EXPECT_TRUE(odd["coverage"].is_null());
}

// The writer against what JSON must escape and what is not UTF-8, checked by a JSON library.
TEST(JsonWriter, EscapesEverythingAndReplacesInvalidUtf8) {
  std::string all_bytes;
  for (int c = 1; c < 256; ++c) all_bytes += static_cast<char>(c);
  const std::string texts[] = {"plain",
                               "",
                               "quote \" backslash \\ \n\r\t\b\f \x01 \x1f \x7f",
                               "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
                               "\xc3",
                               "\xed\xa0\x80",
                               "\xc0\xaf overlong",
                               "\xf4\x90\x80\x80 too big",
                               all_bytes,
                               std::string("nul \0 inside", 13)};
  for (const std::string& text : texts) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().field("k", text).key("list").begin_array().value(text).value(int64_t{-3});
    w.value(2.5).value(true).null().end_array().end_object();
    json parsed = json::parse(out);  // throws if not JSON: the test fails loudly
    std::string expected =
        json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace))
            .get<std::string>();
    EXPECT_EQ(parsed["k"], expected) << out;
    EXPECT_EQ(parsed["list"], json({expected, -3, 2.5, true, nullptr}));
    EXPECT_EQ(valid_utf8(text), expected);
  }
}

TEST_F(StatusLineTest, StatusJsonIsTheLinesInOrder) {
  for (int64_t id = 1; id <= 40; ++id) db->insert_job(base_job(id));
  std::string text;
  ASSERT_TRUE(write_status_json(config, paths, *db, kNow, false, [&](std::string_view t) {
                text += t;
                return Status{};
              }).ok());
  json doc = json::parse(text);
  ASSERT_EQ(doc["jobs"].size(), 40u);
  EXPECT_EQ(doc["jobs"][0]["id"], 40);  // newest first
  EXPECT_EQ(doc["jobs"][39]["id"], 1);
  EXPECT_EQ(doc["jobs"][0], json::parse(canonical(expected_object(config, base_job(40)))));
}

}  // namespace
}  // namespace runbot
