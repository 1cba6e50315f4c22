#include "job/classify.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_text;

LogCounts classify_text(const LogClassifier& c, const std::string& text) {
  TempDir dir;
  write_text(dir / "log", text);
  auto r = c.file(dir / "log");
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : LogCounts{};
}

TEST(Classify, DefaultPatternsPerLine) {
  LogClassifier c("ERROR|Traceback", "WARNING", "TOTAL.* ([0-9.]+)%");
  auto n = classify_text(c,
                         "starting\n"
                         "2024 ERROR db down\n"
                         "Traceback (most recent call last):\n"
                         "WARNING: deprecated\n"
                         "ERROR and WARNING on one line\n"
                         "error in lower case is not an error\n"
                         "TOTAL   1234  56  81.5%\n");
  EXPECT_EQ(n.errors, 3);
  EXPECT_EQ(n.warnings, 1);  // the line with both counts as an error only
  ASSERT_TRUE(n.coverage);
  EXPECT_DOUBLE_EQ(*n.coverage, 81.5);
}

TEST(Classify, RegexPatterns) {
  LogClassifier c("^FAIL(ED)?:|[0-9]+ tests? failed", "warn(ing)?\\b", "");
  LogCounts n;
  c.line("FAIL: test_x", n);
  c.line("FAILED: test_y", n);
  c.line("not FAIL: at start", n);
  c.line("3 tests failed", n);
  c.line("1 test failed", n);
  c.line("no tests failed", n);
  c.line("a warn here", n);
  c.line("warnings", n);  // \b after warn(ing)? does not hold before 's'
  EXPECT_EQ(n.errors, 4);
  EXPECT_EQ(n.warnings, 1);
  EXPECT_FALSE(n.coverage);
}

TEST(Classify, LiteralPrefilterKeepsRegexMeaning) {
  // Literal-looking prefixes with quantifiers, escapes, groups and classes.
  LogClassifier c("ab+c|x\\.y|E(RR|XC)|k[0-9]z|colou?r|end$", "", "");
  auto count = [&](std::string_view s) {
    LogCounts n;
    c.line(s, n);
    return n.errors;
  };
  EXPECT_EQ(count("abbbc"), 1);
  EXPECT_EQ(count("ac"), 0);
  EXPECT_EQ(count("x.y"), 1);
  EXPECT_EQ(count("xzy"), 0);
  EXPECT_EQ(count("EXC"), 1);
  EXPECT_EQ(count("E"), 0);
  EXPECT_EQ(count("k5z"), 1);
  EXPECT_EQ(count("kz"), 0);
  EXPECT_EQ(count("color"), 1);
  EXPECT_EQ(count("colour"), 1);
  EXPECT_EQ(count("the end"), 1);
  EXPECT_EQ(count("the end."), 0);
}

TEST(Classify, EmptyPatternsMatchNothing) {
  LogClassifier c("", "", "");
  auto n = classify_text(c, "ERROR\nWARNING\nTOTAL 50%\n\n");
  EXPECT_EQ(n.errors, 0);
  EXPECT_EQ(n.warnings, 0);
  EXPECT_FALSE(n.coverage);
}

TEST(Classify, CrLfAndNoFinalNewline) {
  LogClassifier c("ERROR$", "WARNING$", "cov ([0-9.]+)$");
  auto n = classify_text(c, "x ERROR\r\ny WARNING\r\ncov 12.5\r\nlast ERROR");
  EXPECT_EQ(n.errors, 2);
  EXPECT_EQ(n.warnings, 1);
  ASSERT_TRUE(n.coverage);
  EXPECT_DOUBLE_EQ(*n.coverage, 12.5);
}

TEST(Classify, BinaryJunk) {
  LogClassifier c("ERROR", "WARNING", "");
  std::string junk;
  for (int i = 0; i < 100000; ++i) junk += static_cast<char>((i * 131) % 256);
  junk += std::string("\0\0ERROR\0\xff\n", 11);
  junk += std::string("\xfe\xff WARNING \x80\n", 14);
  auto n = classify_text(c, junk);
  EXPECT_EQ(n.errors, 1);
  EXPECT_EQ(n.warnings, 1);
}

TEST(Classify, NoLengthCutHidesAnErrorOnALongLine) {
  // Old code matched only the first 4 KiB of a line: an ERROR past that classified as ok.
  LogClassifier c("ERROR", "WARNING", "");
  std::string line(3 * LogClassifier::kWindow + 12345, 'x');
  auto at = [&](size_t pos) {
    std::string l = line;
    l.replace(pos, 5, "ERROR");
    return l;
  };
  const size_t step = LogClassifier::kWindow - LogClassifier::kOverlap;
  for (size_t pos : {size_t{5000}, step - 2, step + 3, 2 * step - 3, 2 * step + 1,
                     LogClassifier::kWindow - 2, line.size() - 5}) {
    EXPECT_EQ(classify_text(c, at(pos) + "\n").errors, 1) << "ERROR at " << pos;
  }
  auto n = classify_text(c, line + "\n" + at(line.size() - 5) + "\nWARNING\n");
  EXPECT_EQ(n.errors, 1);
  EXPECT_EQ(n.warnings, 1);  // the line after a long one is read from its start
}

TEST(Classify, FiveMegabyteLineWithErrorAtItsEnd) {
  LogClassifier c("ERROR", "", "");
  std::string line(5 * 1024 * 1024, 'z');
  line += " ERROR at the very end";
  EXPECT_EQ(classify_text(c, line).errors, 1);  // no final newline
  EXPECT_EQ(classify_text(c, line + "\n").errors, 1);
}

TEST(Classify, AnchorsHoldAtTheRealLineEndsOfALongLine) {
  // Windows of a long line keep one byte of context, so ^ and $ match only at its real ends.
  LogClassifier c("^ERR|END$", "", "");
  std::string mid(2 * LogClassifier::kWindow, 'q');
  EXPECT_EQ(classify_text(c, mid + "\n").errors, 0);
  mid.replace(LogClassifier::kWindow - LogClassifier::kOverlap - 1, 3, "ERR");
  mid.replace(LogClassifier::kWindow - 3, 3, "END");
  EXPECT_EQ(classify_text(c, mid + "\n").errors, 0);
  EXPECT_EQ(classify_text(c, "ERR" + mid + "\n").errors, 1);
  EXPECT_EQ(classify_text(c, mid + "END\r\n").errors, 1);
}

TEST(Classify, CarriageReturnEndsALine) {
  // A 10 KiB progress line redrawn with \r, then ERROR on the same physical line: old code
  // cut the line at 4 KiB and never saw the error.
  LogClassifier c("^ERROR", "^WARNING", "");
  std::string progress;
  for (int i = 0; progress.size() < 10 * 1024; ++i)
    progress += fmt::format("\r{:3}% [#####]", i % 100);
  auto n = classify_text(c, progress + "\rERROR boom\rWARNING later\n");
  EXPECT_EQ(n.errors, 1);
  EXPECT_EQ(n.warnings, 1);
  TempDir dir;
  write_text(dir / "log", "a\r\nERROR 1\rb\n\rERROR 2\r\r\n");
  std::vector<int64_t> numbers;
  auto r = c.file(dir / "log", [&](const LogLine& l) {
    if (l.error) numbers.push_back(l.number);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->errors, 2);
  // \r\n is one line end; a lone \r or \n is one too (the empty line between \n and \r).
  EXPECT_EQ(numbers, (std::vector<int64_t>{2, 5}));
}

TEST(Classify, CatastrophicPatternFinishesInLinearTime) {
  // With std::regex, "(a+)+$" on 100,000 'a' and a 'b' backtracks for hours or overflows.
  LogClassifier c("(a+)+$", "(x+x+)+y", "");
  std::string line(100000, 'a');
  auto n = classify_text(c, line + "b\n" + std::string(40, 'a') + "b\n" + std::string(100000, 'x') +
                                "\n" + std::string(40, 'x') + "\n");
  EXPECT_EQ(n.errors, 0);
  EXPECT_EQ(n.warnings, 0);
  EXPECT_EQ(classify_text(c, line + "\n").errors, 1);
}

TEST(Classify, CoverageLastMatchWins) {
  LogClassifier c("", "", "TOTAL.* ([0-9.]+)%");
  auto n = classify_text(c, "TOTAL 10 20 50%\nother\nTOTAL 1 2 75.25%\nTOTAL bad x%\n");
  ASSERT_TRUE(n.coverage);
  EXPECT_DOUBLE_EQ(*n.coverage, 75.25);
  auto none = classify_text(c, "no coverage here\n");
  EXPECT_FALSE(none.coverage);
}

TEST(Classify, MissingFileIsAnError) {
  LogClassifier c("ERROR", "", "");
  auto r = c.file("/nonexistent/log.txt");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/log.txt"), std::string::npos);
}

// Peak resident memory since the last reset_peak_rss(), in KiB (Linux: VmHWM).
long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

TEST(Classify, FiftyMegabyteLog) {
  TempDir dir;
  {
    std::ofstream out(dir / "big.log", std::ios::binary);
    std::string line;
    for (int i = 0; i < 700000; ++i) {
      line = "2024-01-01 12:00:00,000 " + std::to_string(i) + " INFO odoo.modules: loading module";
      if (i % 100000 == 7) line += " ERROR boom";
      if (i % 50000 == 3) line += " WARNING hmm";
      line.resize(75, '.');
      out << line << '\n';
    }
  }
  ASSERT_GT(fs::file_size(dir / "big.log"), 50u * 1000 * 1000);
  LogClassifier c("ERROR|Traceback", "WARNING", "TOTAL.* ([0-9.]+)%");
  auto r = c.file(dir / "big.log");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->errors, 7);
  EXPECT_EQ(r->warnings, 14);
}

TEST(Classify, HugeLogWithoutNewlineUsesBoundedMemory) {
  TempDir dir;
  {
    int fd = ::open((dir / "one.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    std::string chunk(1024 * 1024, 'y');
    chunk.replace(100, 5, "ERROR");
    for (int i = 0; i < 200; ++i) ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), 1024 * 1024);
    ::close(fd);
  }
  reset_peak_rss();
  long before = peak_rss_kb();
  LogClassifier c("ERROR", "", "");
  auto r = c.file(dir / "one.log");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->errors, 1);
  EXPECT_LT(peak_rss_kb() - before, 20 * 1024);  // far below 200 MB
}

}  // namespace
}  // namespace runbot
