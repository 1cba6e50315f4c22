#include "job/job_file.h"

#include <gtest/gtest.h>

#include "support/support.h"
#include "util/atomic_file.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using test::write_text;

JobSpec sample_spec() {
  JobSpec s;
  s.id = 230;
  s.group = "trunk-fix-42";
  s.sources = {{"server", "git", "/srv/repos/server", "/srv/server.git", "9a8b7c6", "trunk", true},
               {"addons", "git", "/srv/repos/addons", "https://x/addons.git", "5d6e7f8",
                "trunk-fix-42", false}};
  s.build.steps = {{"install", "make install", 600}, {"test", "make test", 0}};
  s.build.run = "python3 server.py --port $RUNBOT_PORT";
  s.build.run_on = {"ok"};
  s.build.error_pattern = "ERROR";
  s.build.warning_pattern = "WARN";
  s.build.coverage_pattern = "TOTAL.* ([0-9.]+)%";
  s.build.artifacts = {"coverage-html"};
  s.build_timeout = 900;
  s.port = 8101;
  s.url = "http://230.runbot.localhost:8080/";
  s.db_name = "runbot_230";
  return s;
}

ResultMarker sample_result() {
  ResultMarker r;
  r.result = JobResult::warn;
  r.note = "2 warning lines";
  r.errors = 0;
  r.warnings = 2;
  r.coverage = 81.5;
  r.artifacts = {"src/coverage-html"};
  r.started_at = 1795521600;
  r.finished_at = 1795521660;
  return r;
}

std::vector<StepRecord> sample_steps() {
  StepRecord a{"install", 0, false, 1.25, 0, 1, 1795521600, 1795521602, "logs/install.log"};
  StepRecord b{"test", -1, true, 30, 3, 0, 1795521602, 1795521632, "logs/test.log"};
  return {a, b};
}

TEST(JobFile, SpecRoundTrip) {
  TempDir dir;
  JobSpec s = sample_spec();
  ASSERT_TRUE(write_job_spec(dir.path(), s));
  auto r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, 230);
  EXPECT_EQ(r->group, "trunk-fix-42");
  ASSERT_EQ(r->sources.size(), 2u);
  EXPECT_EQ(r->sources[0].project, "server");
  EXPECT_EQ(r->sources[0].mirror, "/srv/repos/server");
  EXPECT_EQ(r->sources[0].remote, "/srv/server.git");
  EXPECT_EQ(r->sources[0].rev, "9a8b7c6");
  EXPECT_TRUE(r->sources[0].fallback);
  EXPECT_FALSE(r->sources[1].fallback);
  EXPECT_EQ(r->sources[1].branch, "trunk-fix-42");
  ASSERT_EQ(r->build.steps.size(), 2u);
  EXPECT_EQ(r->build.steps[0].name, "install");
  EXPECT_EQ(r->build.steps[0].run, "make install");
  EXPECT_EQ(r->build.steps[0].timeout, 600);
  EXPECT_EQ(r->build.run, s.build.run);
  EXPECT_EQ(r->build.run_on, std::vector<std::string>{"ok"});
  EXPECT_EQ(r->build.error_pattern, "ERROR");
  EXPECT_EQ(r->build.warning_pattern, "WARN");
  EXPECT_EQ(r->build.coverage_pattern, s.build.coverage_pattern);
  EXPECT_EQ(r->build.artifacts, s.build.artifacts);
  EXPECT_EQ(r->build_timeout, 900);
  EXPECT_EQ(r->port, 8101);
  EXPECT_EQ(r->url, s.url);
  EXPECT_EQ(r->db_name, "runbot_230");
  EXPECT_NE(read_text(dir / "job.json").find("\"version\": 1"), std::string::npos);
}

// job.json edited by hand: its names become paths under the job folder (src/<project>,
// logs/<step>.log), so a name that climbs out or names a folder is refused before anything runs.
TEST(JobFile, HandEditedNamesThatWouldBePathsOutsideTheJobAreRefused) {
  EXPECT_TRUE(check_job_spec(sample_spec()));
  for (std::string project : {"..", ".", "", "../../etc", "a/b", "Server"}) {
    JobSpec s = sample_spec();
    s.sources[0].project = project;
    auto st = check_job_spec(s);
    ASSERT_FALSE(st) << project;
    EXPECT_EQ(st.error().message, "job.json: bad project name '" + project + "'");
  }
  for (std::string step : {"..", "../../../tmp/x", "logs/x", ""}) {
    JobSpec s = sample_spec();
    s.build.steps[0].name = step;
    auto st = check_job_spec(s);
    ASSERT_FALSE(st) << step;
    EXPECT_EQ(st.error().message, "job.json: bad step name '" + step + "'");
  }
  JobSpec dotted = sample_spec();
  dotted.build.steps[0].name = "Test.py";
  EXPECT_TRUE(check_job_spec(dotted));
  JobSpec pattern = sample_spec();
  pattern.build.error_pattern = "(unclosed";
  auto st = check_job_spec(pattern);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message.rfind("job.json: bad pattern '(unclosed': ", 0), 0u)
      << st.error().message;
}

TEST(JobFile, MarkersRoundTrip) {
  TempDir dir;
  ProcessMarker m{{4242, 123456789}, 1795521600, 8101};
  ASSERT_TRUE(write_process_marker(dir / "instance.json", m));
  auto pm = read_process_marker(dir / "instance.json");
  ASSERT_TRUE(pm) << pm.error().message;
  ASSERT_TRUE(pm->has_value());
  EXPECT_EQ((*pm)->process, m.process);
  EXPECT_EQ((*pm)->started_at, m.started_at);
  EXPECT_EQ((*pm)->port, 8101);

  ASSERT_TRUE(write_steps(dir.path(), sample_steps()));
  auto steps = read_steps(dir.path());
  ASSERT_TRUE(steps) << steps.error().message;
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].name, "install");
  EXPECT_DOUBLE_EQ((*steps)[0].seconds, 1.25);
  EXPECT_EQ((*steps)[0].warnings, 1);
  EXPECT_EQ((*steps)[1].exit, -1);
  EXPECT_TRUE((*steps)[1].timed_out);
  EXPECT_EQ((*steps)[1].errors, 3);
  EXPECT_EQ((*steps)[1].finished_at, 1795521632);
  EXPECT_EQ((*steps)[1].log, "logs/test.log");

  ASSERT_TRUE(write_result(dir.path(), sample_result()));
  auto res = read_result(dir.path());
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_TRUE(res->has_value());
  const ResultMarker& r = **res;
  EXPECT_EQ(r.result, JobResult::warn);
  EXPECT_EQ(r.note, "2 warning lines");
  EXPECT_EQ(r.warnings, 2);
  ASSERT_TRUE(r.coverage);
  EXPECT_DOUBLE_EQ(*r.coverage, 81.5);
  EXPECT_EQ(r.artifacts, std::vector<std::string>{"src/coverage-html"});
  EXPECT_EQ(r.started_at, 1795521600);
  EXPECT_EQ(r.finished_at, 1795521660);

  ResultMarker no_cov;
  ASSERT_TRUE(write_result(dir.path(), no_cov));
  auto res2 = read_result(dir.path());
  ASSERT_TRUE(res2 && res2->has_value());
  EXPECT_FALSE((*res2)->coverage);
  EXPECT_EQ((*res2)->result, JobResult::ko);
}

TEST(JobFile, MissingFiles) {
  TempDir dir;
  auto pm = read_process_marker(dir / "runner.json");
  ASSERT_TRUE(pm);
  EXPECT_FALSE(pm->has_value());
  auto res = read_result(dir.path());
  ASSERT_TRUE(res);
  EXPECT_FALSE(res->has_value());
  auto steps = read_steps(dir.path());
  ASSERT_TRUE(steps);
  EXPECT_TRUE(steps->empty());
  auto spec = read_job_spec(dir.path());
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message.find("job.json"), std::string::npos);
}

TEST(JobFile, NonUtf8BranchIsWritten) {
  TempDir dir;
  JobSpec s = sample_spec();
  s.group = "caf\xe9";
  ASSERT_TRUE(write_job_spec(dir.path(), s));
  auto r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->group.empty());
}

// Rewrites job.json through `edit` and returns the read error ("" if it read fine).
std::string spec_error_after(const std::string& from, const std::string& to) {
  TempDir dir;
  EXPECT_TRUE(write_job_spec(dir.path(), sample_spec()));
  std::string text = read_text(dir / "job.json");
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at == std::string::npos) return "";
  text.replace(at, from.size(), to);
  write_text(dir / "job.json", text);
  auto r = read_job_spec(dir.path());
  return r ? "" : r.error().message;
}

TEST(JobFile, BadContentIsNamed) {
  auto e = spec_error_after("\"version\": 1", "\"version\": 2");
  EXPECT_NE(e.find("job.json has version 2, expected 1"), std::string::npos) << e;
  e = spec_error_after("\"group\": \"trunk-fix-42\",", "");
  EXPECT_NE(e.find("job.json: group: missing"), std::string::npos) << e;
  e = spec_error_after("\"port\": 8101", "\"port\": \"8101\"");
  EXPECT_NE(e.find("job.json: port: must be an integer"), std::string::npos) << e;
  e = spec_error_after("\"port\": 8101", "\"port\": 99999");
  EXPECT_NE(e.find("port: is out of range"), std::string::npos) << e;
  e = spec_error_after("\"timeout\": 600", "\"timeout\": true");
  EXPECT_NE(e.find("build.steps[0].timeout: must be an integer"), std::string::npos) << e;
  e = spec_error_after("\"fallback\": true", "\"fallback\": 1");
  EXPECT_NE(e.find("sources[0].fallback"), std::string::npos) << e;
  e = spec_error_after("\"trunk-fix-42\"", "\"bad \xff\xfe\"");
  EXPECT_NE(e.find("job.json: not valid JSON"), std::string::npos) << e;
  e = spec_error_after("{", "[");
  EXPECT_NE(e.find("job.json"), std::string::npos) << e;

  TempDir dir;
  ASSERT_TRUE(write_result(dir.path(), sample_result()));
  std::string text = read_text(dir / "result.json");
  text.replace(text.find("\"warn\""), 6, "\"great\"");
  write_text(dir / "result.json", text);
  auto r = read_result(dir.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("result.json: result: unknown result 'great'"),
            std::string::npos)
      << r.error().message;

  write_text(dir / "runner.json", R"({"version": 1, "pid": 0, "start_time": 1, "started_at": 2,
                                     "port": 0})");
  auto pm = read_process_marker(dir / "runner.json");
  ASSERT_FALSE(pm);  // pid 0 would make kill() hit our own process group
  EXPECT_NE(pm.error().message.find("runner.json: pid"), std::string::npos);
}

// Ninja-style: every prefix and a set of single-byte corruptions of a valid file must read
// as an error or a valid value, never crash or throw.
template <typename Read>
void fuzz_file(const fs::path& file, Read read) {
  std::string good = read_text(file);
  ASSERT_FALSE(good.empty());
  size_t last_brace = good.rfind('}');
  for (size_t len = 0; len < good.size(); ++len) {
    write_text(file, good.substr(0, len));
    EXPECT_NO_THROW({
      auto r = read();
      if (len <= last_brace) {
        EXPECT_FALSE(r) << "prefix of " << len << " bytes read as valid";
      }
    });
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'\0', '}', '\xff'}) {
      std::string bad = good;
      bad[i] = c;
      write_text(file, bad);
      EXPECT_NO_THROW({ (void)read(); }) << "byte " << i;
    }
  }
  write_text(file, good);
  auto r = read();
  EXPECT_TRUE(r);
}

TEST(JobFile, FuzzJobSpec) {
  TempDir dir;
  JobSpec s = sample_spec();
  s.sources.resize(1);
  s.build.steps.resize(1);
  ASSERT_TRUE(write_job_spec(dir.path(), s));
  fuzz_file(dir / "job.json", [&] { return read_job_spec(dir.path()); });
}

TEST(JobFile, FuzzMarkers) {
  TempDir dir;
  ASSERT_TRUE(write_process_marker(dir / "runner.json", {{4242, 123456789}, 1795521600, 0}));
  fuzz_file(dir / "runner.json", [&] { return read_process_marker(dir / "runner.json"); });
  ASSERT_TRUE(write_steps(dir.path(), sample_steps()));
  fuzz_file(dir / "steps.json", [&] { return read_steps(dir.path()); });
  ASSERT_TRUE(write_result(dir.path(), sample_result()));
  fuzz_file(dir / "result.json", [&] { return read_result(dir.path()); });
}

TEST(JobFile, WritesAreAtomic) {
  TempDir dir;
  ASSERT_TRUE(write_result(dir.path(), sample_result()));
  ASSERT_TRUE(write_result(dir.path(), sample_result()));
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);  // no temp file left behind
}

}  // namespace
}  // namespace runbot
