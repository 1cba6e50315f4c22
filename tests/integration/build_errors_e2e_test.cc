// Build errors end to end (SPEC "Build errors"): a real family whose branches fail with the
// same error (different numbers), a traceback, a flaky test confirmed by `build GROUP`, and the
// errors table through gc and clean.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "family.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// The step runs the branch's own test.sh (base branches have none and pass).
constexpr const char* kSteps =
    "steps = [{ name = \"test\", run = \"if [ -f server/test.sh ]; then sh server/test.sh; fi\" "
    "}]\n";

// An Odoo-style error line whose numbers (time, pid, job id, line) differ in every job.
constexpr const char* kSqlError =
    "echo \"$(date '+%Y-%m-%d %H:%M:%S'),$$ $$ ERROR runbot_$RUNBOT_JOB_ID odoo.sql_db: bad "
    "query at $RUNBOT_SRC/server/models.py:$1\"; exit 1\n";

nlohmann::json errors_json(const Family& f) {
  Cmd c = runbot(f.state, {"errors", "--json"});
  EXPECT_EQ(c.status, 0) << c.err;
  return nlohmann::json::parse(c.out, nullptr, false);
}

const nlohmann::json* error_with(const nlohmann::json& doc, const std::string& fingerprint) {
  for (const auto& e : doc["errors"])
    if (e["fingerprint"] == fingerprint) return &e;
  return nullptr;
}

TEST(BuildErrorsE2E, SameErrorAcrossGroupsTracebackAndAFlakyTestConfirmedByARebuild) {
  Family f("", kSteps);
  f.server->commit("trunk-a", "test.sh", std::string("set -- 17\n") + kSqlError);
  f.server->commit("trunk-b", "test.sh", std::string("set -- 4242\n") + kSqlError);
  f.server->commit("trunk-tb", "test.sh",
                   "echo '2024-05-03 10:12:46,456 4821 ERROR db odoo.modules.registry: Failed'\n"
                   "echo 'Traceback (most recent call last):'\n"
                   "echo '  File \"/usr/lib/odoo/models.py\", line 3120, in _read'\n"
                   "echo '    raise ValueError(42)'\n"
                   "echo 'ValueError: expected singleton: res.partner(7, 9)'\n"
                   "echo 'INFO after'\n");
  f.server->commit("trunk-flaky", "test.sh",
                   "if [ \"$FLAKY_PASS\" = 1 ]; then echo 'all 3 tests passed'; else\n"
                   "echo \"ERROR test_random failed after 0.$RUNBOT_JOB_ID s\"; exit 1; fi\n");
  ASSERT_TRUE(f.settle(120));
  auto st = f.status();
  auto a = jobs_of(st, "trunk-a"), b = jobs_of(st, "trunk-b"), tb = jobs_of(st, "trunk-tb");
  auto flaky = jobs_of(st, "trunk-flaky");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(tb.size(), 1u);
  ASSERT_EQ(flaky.size(), 1u);
  for (const auto* j : {&a[0], &b[0], &tb[0], &flaky[0]}) EXPECT_EQ((*j)["result"], "ko") << *j;
  EXPECT_EQ(jobs_of(st, "trunk")[0]["errors"], nlohmann::json::array());

  // The same error, different numbers and paths: one fingerprint; whichever job was recorded
  // first has it new, the other known, naming where.
  ASSERT_EQ(a[0]["errors"].size(), 1u) << a[0];
  ASSERT_EQ(b[0]["errors"].size(), 1u) << b[0];
  std::string fp = a[0]["errors"][0]["fingerprint"];
  EXPECT_EQ(b[0]["errors"][0]["fingerprint"], fp);
  EXPECT_EQ(a[0]["errors"][0]["step"], "test");
  auto first = a[0]["errors"][0]["class"] == "new" ? a[0] : b[0];
  auto second = a[0]["errors"][0]["class"] == "new" ? b[0] : a[0];
  EXPECT_EQ(second["errors"][0]["class"], "known") << second;
  EXPECT_EQ(first["note"].get<std::string>().rfind("1 new error", 0), 0u) << first["note"];
  EXPECT_EQ(second["note"].get<std::string>().rfind(
                fmt::format("1 known error ({} #{})", first["group"].get<std::string>(),
                            first["id"].get<int>()),
                0),
            0u)
      << second["note"];

  // The traceback and the error line that logged it: one error, ending in the exception.
  ASSERT_EQ(tb[0]["errors"].size(), 1u) << tb[0];
  EXPECT_EQ(tb[0]["errors"][0]["text"],
            "2024-05-03 10:12:46,456 4821 ERROR db odoo.modules.registry: Failed … ValueError: "
            "expected singleton: res.partner(7, 9)");
  EXPECT_EQ(tb[0]["steps"][0]["errors"], 2);  // classification still counts error lines

  auto doc = errors_json(f);
  ASSERT_EQ(doc["errors"].size(), 3u) << doc;
  const auto* shared = error_with(doc, fp);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ((*shared)["jobs"], 2);
  EXPECT_EQ((*shared)["class"], "known");
  EXPECT_EQ((*shared)["groups"].size(), 2u);
  EXPECT_EQ((*shared)["first_job"], std::min(a[0]["id"].get<int>(), b[0]["id"].get<int>()));

  // Rerun the flaky group's revisions; this time the test passes: its error becomes flaky.
  std::string flaky_fp = flaky[0]["errors"][0]["fingerprint"];
  EXPECT_EQ(flaky[0]["errors"][0]["class"], "new");
  write_text(f.state / "runbot.toml",
             f.config("", std::string(kSteps) + "env = { FLAKY_PASS = \"1\" }\n"));
  ASSERT_EQ(runbot(f.state, {"build", "trunk-flaky"}).status, 0);
  ASSERT_TRUE(f.settle(60));
  st = f.status();
  flaky = jobs_of(st, "trunk-flaky");
  ASSERT_EQ(flaky.size(), 2u);
  EXPECT_EQ(flaky[0]["result"], "ok");
  EXPECT_EQ(flaky[1]["errors"][0]["class"], "flaky") << flaky[1];
  EXPECT_EQ(flaky[1]["note"].get<std::string>().rfind(
                fmt::format("flaky: passed on #{}", flaky[0]["id"].get<int>()), 0),
            0u)
      << flaky[1]["note"];
  doc = errors_json(f);
  ASSERT_NE(error_with(doc, flaky_fp), nullptr);
  EXPECT_EQ((*error_with(doc, flaky_fp))["class"], "flaky");

  // The pages say the same: the republished job page, the index cell, errors.html.
  std::string page =
      read_text(f.state / "www/job" / fmt::format("{}.html", flaky[1]["id"].get<int>()));
  EXPECT_NE(page.find("<span class=\"tag flaky\">flaky</span>"), std::string::npos);
  std::string index = read_text(f.state / "www/index.html");
  EXPECT_NE(index.find("ko explained"), std::string::npos);
  std::string errors_page = read_text(f.state / "www/errors.html");
  EXPECT_NE(errors_page.find("id=\"e-" + flaky_fp + "\""), std::string::npos);
  EXPECT_NE(errors_page.find("id=\"e-" + fp + "\""), std::string::npos);
  Cmd text = runbot(f.state, {"errors"});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find(fp + " known"), std::string::npos) << text.out;
}

TEST(BuildErrorsE2E, GcAndCleanKeepTheErrorsTableConsistent) {
  Family f("keep_per_group = 1", kSteps);
  f.server->commit("trunk-a", "test.sh", std::string("set -- 1\n") + kSqlError);
  ASSERT_TRUE(f.settle(60));
  f.server->commit("trunk-a", "test.sh", std::string("set -- 2\n") + kSqlError);
  ASSERT_TRUE(f.settle(60));
  ASSERT_EQ(runbot(f.state, {"gc"}).status, 0);
  auto doc = errors_json(f);
  ASSERT_EQ(doc["errors"].size(), 1u) << doc;
  // The collected job is still a job of the history: the table keeps counting it.
  EXPECT_EQ(doc["errors"][0]["jobs"], 2);
  EXPECT_EQ(doc["errors"][0]["class"], "known");
  int first = doc["errors"][0]["first_job"], last = doc["errors"][0]["last_job"];
  EXPECT_LT(first, last);
  EXPECT_FALSE(fs::exists(f.state / "jobs" / std::to_string(first)));

  // clean forgets every job, so every error with them; the next build's error is new again.
  ASSERT_EQ(runbot(f.state, {"clean"}).status, 0);
  EXPECT_EQ(errors_json(f)["errors"].size(), 0u);
  ASSERT_TRUE(f.settle(60));
  doc = errors_json(f);
  ASSERT_EQ(doc["errors"].size(), 1u) << doc;
  EXPECT_EQ(doc["errors"][0]["jobs"], 1);
  EXPECT_EQ(doc["errors"][0]["class"], "new");
  EXPECT_GT(doc["errors"][0]["first_job"].get<int>(), last);
  auto a = jobs_of(f.status(), "trunk-a");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0]["errors"][0]["class"], "new");
}

}  // namespace
}  // namespace runbot::test
