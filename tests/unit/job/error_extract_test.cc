#include "job/error_extract.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/support.h"

namespace runbot {
namespace {

using test::TempDir;
using test::write_text;

struct Scanned {
  std::vector<BuildError> errors;
  int dropped = 0;
  LogCounts counts;
};

Scanned scan(const std::string& log, const std::string& pattern = "ERROR|Traceback") {
  TempDir dir;
  write_text(dir / "test.log", log);
  LogClassifier c(pattern, "WARNING", "");
  JobErrors errors(job_error_context(dir.path()));
  auto counts = errors.scan_step(c, "test", dir / "test.log");
  EXPECT_TRUE(counts);
  return {errors.errors(), errors.dropped(), counts ? *counts : LogCounts{}};
}

const char* kOdooTraceback =
    "2024-05-03 10:12:45,123 4821 INFO runbot_7 odoo.modules.loading: loading 42 modules\n"
    "2024-05-03 10:12:46,456 4821 ERROR runbot_7 odoo.modules.registry: Failed to load registry\n"
    "Traceback (most recent call last):\n"
    "  File \"/usr/lib/python3/odoo/modules/registry.py\", line 87, in new\n"
    "    odoo.modules.load_modules(registry, force_demo, status, update_module)\n"
    "  File \"/usr/lib/python3/odoo/models.py\", line 3120, in _read\n"
    "    raise ERROR_IN_A_FRAME\n"
    "psycopg2.errors.UndefinedColumn: column res_partner.x_code does not exist\n"
    "2024-05-03 10:12:47,000 4821 INFO runbot_7 odoo.service.server: stopping\n";

TEST(ErrorExtract, OdooErrorLineAndItsTracebackAreOneError) {
  Scanned s = scan(kOdooTraceback);
  ASSERT_EQ(s.errors.size(), 1u);
  const BuildError& e = s.errors[0];
  EXPECT_EQ(e.step, "test");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.offset, std::string(kOdooTraceback).find("2024-05-03 10:12:46"));
  EXPECT_EQ(e.text.substr(0, e.text.find('\n')),
            "2024-05-03 10:12:46,456 4821 ERROR runbot_7 odoo.modules.registry: Failed to load "
            "registry");
  EXPECT_NE(e.text.find("\nTraceback (most recent call last):\n"), std::string::npos);
  EXPECT_EQ(e.text.substr(e.text.rfind('\n') + 1),
            "psycopg2.errors.UndefinedColumn: column res_partner.x_code does not exist");
  EXPECT_EQ(s.counts.errors, 3);  // classification still counts every error line
}

TEST(ErrorExtract, BareTracebackIsOneErrorAndLinesAroundItAreTheirOwn) {
  Scanned s = scan(
      "ERROR first\n"
      "ok line\n"
      "Traceback (most recent call last):\n"
      "  File \"t.py\", line 1, in <module>\n"
      "KeyError: 'ERROR'\n"
      "ERROR second\n"
      "ERROR third\n");
  ASSERT_EQ(s.errors.size(), 4u);
  EXPECT_EQ(s.errors[0].text, "ERROR first");
  EXPECT_EQ(s.errors[1].text,
            "Traceback (most recent call last):\n  File \"t.py\", line 1, in <module>\n"
            "KeyError: 'ERROR'");
  EXPECT_EQ(s.errors[1].line, 3);
  EXPECT_EQ(s.errors[2].text, "ERROR second");
  EXPECT_EQ(s.errors[3].text, "ERROR third");
}

TEST(ErrorExtract, TracebackThatMatchesNoErrorPatternIsNotAnError) {
  Scanned s =
      scan("Traceback (most recent call last):\n  File \"t.py\", line 1\nValueError: x\nFAIL: y\n",
           "FAIL");
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].text, "FAIL: y");
}

TEST(ErrorExtract, LongTracebackKeepsItsLastFramesAndExceptionLine) {
  std::string log = "Traceback (most recent call last):\n";
  for (int i = 0; i < 1000; ++i) log += fmt::format("  File \"r.py\", line {}, in f\n    f()\n", i);
  log += "RecursionError: maximum recursion depth exceeded\n";
  Scanned s = scan(log);
  ASSERT_EQ(s.errors.size(), 1u);
  const std::string& t = s.errors[0].text;
  EXPECT_NE(t.find("Traceback (most recent call last):\n  ...\n"), std::string::npos) << t;
  EXPECT_NE(t.find("line 999, in f"), std::string::npos);
  EXPECT_EQ(t.find("line 5, in f"), std::string::npos);
  EXPECT_EQ(t.substr(t.rfind('\n') + 1), "RecursionError: maximum recursion depth exceeded");
  EXPECT_LT(t.size(), 8000u);
}

TEST(ErrorExtract, TracebackCutByTheEndOfTheLogOrABlankLineEndsThere) {
  Scanned s = scan(
      "Traceback (most recent call last):\n  File \"a.py\"\n\nnot part\n"
      "Traceback (most recent call last):\n  File \"b.py\"");
  ASSERT_EQ(s.errors.size(), 2u);
  EXPECT_EQ(s.errors[0].text, "Traceback (most recent call last):\n  File \"a.py\"");
  EXPECT_EQ(s.errors[1].text, "Traceback (most recent call last):\n  File \"b.py\"");
}

TEST(ErrorExtract, AtMostTwoHundredPerStep) {
  std::string log;
  for (int i = 0; i < 300; ++i) log += fmt::format("ERROR number {}\n", i);
  Scanned s = scan(log);
  EXPECT_EQ(s.errors.size(), ErrorExtractor::kMaxPerStep);
  EXPECT_EQ(s.dropped, 100);
  EXPECT_EQ(s.errors.back().text, "ERROR number 199");
  // Different numbers, one fingerprint.
  EXPECT_EQ(s.errors.front().fingerprint, s.errors.back().fingerprint);
}

TEST(ErrorExtract, ErrorOnAHugeLineIsTakenFromItsMatch) {
  Scanned s = scan(std::string(3 << 20, 'x') + " ERROR deep inside\n");
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].text, "ERROR deep inside");
}

TEST(ErrorExtract, MarkerRoundTripsAndStaysSmall) {
  TempDir dir;
  std::string log;
  for (int i = 0; i < 200; ++i) {
    log += "Traceback (most recent call last):\n";
    for (int f = 0; f < 20; ++f) log += "  File \"" + std::string(600, 'p') + "\"\n";
    log += fmt::format("ValueError: {}\n", i);
  }
  write_text(dir / "a.log", log);
  write_text(dir / "b.log", "ERROR one\n");
  LogClassifier c("ERROR|Traceback", "", "");
  JobErrors errors(job_error_context(dir.path()));
  ASSERT_TRUE(errors.scan_step(c, "a", dir / "a.log"));
  ASSERT_TRUE(errors.scan_step(c, "b", dir / "b.log"));
  ASSERT_TRUE(errors.write(dir.path()));
  EXPECT_LT(std::filesystem::file_size(dir / kErrorsMarker), 800u * 1024);
  auto back = read_errors(dir.path());
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 201u);
  EXPECT_EQ((*back)[200].step, "b");
  EXPECT_EQ((*back)[200].text, "ERROR one");
  EXPECT_EQ((*back)[200].fingerprint, errors.errors()[200].fingerprint);
  EXPECT_EQ((*back)[0].text, errors.errors()[0].text);

  write_text(dir / kErrorsMarker, "{\"version\": 1, \"errors\": [{\"step\": 3}]}");
  EXPECT_FALSE(read_errors(dir.path()));
  TempDir empty;
  auto none = read_errors(empty.path());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace runbot
