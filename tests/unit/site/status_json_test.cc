// A job row's status.json line is written field by field (no JSON tree per job), and its
// page's facts are read from the row directly. Checked here against the object the line
// stands for, built the way SPEC describes it, and against the facts read back from the line.
#include "site/status_json.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

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

// What the line must hold, built independently of the line writer: status.json's job object.
json expected_object(const Config& config, const Job& job) {
  json revisions = json::object();
  for (const Revision& r : job.revisions)
    revisions[r.project] = {
        {"rev", r.rev}, {"branch", r.branch}, {"remote", r.remote}, {"fallback", r.fallback}};
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
          {"steps", details.contains("steps") ? details["steps"] : json::array()},
          {"errors", details.contains("errors") ? details["errors"] : json::array()},
          {"coverage", details.contains("coverage") ? details["coverage"] : json(nullptr)},
          {"port", live ? json(job.port) : json(nullptr)},
          {"url", live ? json(instance_url(config.runbot, job.id)) : json(nullptr)}};
}

// Facts as comparable text, every field.
std::string describe(const JobFacts& f) {
  std::string out = fmt::format(
      "id={} group={} state={} result={} manual={} pinned={} reason={} note={} created={}/{} "
      "started={}/{} finished={}/{} coverage={} port={} url={}\n",
      f.id, f.group, f.state, f.result, f.manual, f.pinned, f.reason, f.note, f.created_at,
      f.created.value_or(-1), f.started_at, f.started.value_or(-1), f.finished_at,
      f.finished.value_or(-1), f.coverage ? fmt::format("{}", *f.coverage) : "-",
      f.port.value_or(-1), f.url);
  for (const auto& r : f.revisions)
    out += fmt::format("rev {} {} {} {} {}\n", r.project, r.branch, r.rev, r.remote, r.fallback);
  for (const auto& s : f.steps)
    out += fmt::format("step {} {} {} {} {} {} {}\n", s.name, s.exit.value_or(-999),
                       s.seconds ? fmt::format("{}", *s.seconds) : "-", s.errors, s.warnings,
                       s.timed_out, s.log);
  for (const auto& e : f.errors)
    out += fmt::format("error {} {} {} {} {}\n", e.fingerprint, e.cls, e.step, e.text, e.line);
  out += fmt::format("explained={}\n", f.explained);
  return out;
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
  }

  // Each stored job's line and facts, by id.
  std::map<int64_t, StatusSource::Published> published() {
    std::map<int64_t, StatusSource::Published> out;
    StatusSource source = status_source(config, paths, *db);
    auto st = source.for_each_row([&](StatusSource::Row&& row) {
      int64_t id = row.job.id;
      out[id] = source.publish_row(row, true);
      EXPECT_EQ(source.publish_row(row, false).line, out[id].line) << "job " << id;
      return Status{};
    });
    EXPECT_TRUE(st.ok());
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
    Job j = base_job(7);  // steps of unexpected shapes are kept as stored
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
    // The line is exactly how a JSON library writes that object: keys sorted, compact.
    EXPECT_EQ(canonical(parsed), p.line);
    EXPECT_EQ(parsed, json::parse(canonical(expected_object(config, j))));
    // The facts a page is rendered from are the line's.
    EXPECT_EQ(describe(p.facts), describe(job_facts(parsed)));
  }
  // Spot checks of what the line says, in SPEC's terms.
  json running = json::parse(lines.at(4).line);
  EXPECT_EQ(running["port"], 8123);
  EXPECT_EQ(running["url"], instance_url(config.runbot, 4));
  EXPECT_EQ(running["revisions"]["addons"]["rev"], std::string(40, 'e'));
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
}

TEST_F(StatusLineTest, StatusJsonIsTheLinesInOrder) {
  for (int64_t id = 1; id <= 40; ++id) db->insert_job(base_job(id));
  StatusSource source = status_source(config, paths, *db);
  std::string text;
  ASSERT_TRUE(write_status_json(source, kNow, [&](std::string_view t) -> Status {
                text += t;
                return {};
              }).ok());
  json doc = json::parse(text);
  ASSERT_EQ(doc["jobs"].size(), 40u);
  EXPECT_EQ(doc["jobs"][0]["id"], 40);  // newest first
  EXPECT_EQ(doc["jobs"][39]["id"], 1);
  EXPECT_EQ(doc["jobs"][0], json::parse(canonical(expected_object(config, base_job(40)))));
}

}  // namespace
}  // namespace runbot
