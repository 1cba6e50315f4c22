// Log classification: per line, error pattern => error, else warning pattern => warning;
// coverage from the first capture of coverage_pattern. Streaming, so a 200 MB log is read
// once in bounded memory; very long lines are cut before matching.
#pragma once
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace runbot {

struct LogCounts {
  int errors = 0;
  int warnings = 0;
  std::optional<double> coverage;  // last match wins
};

class LogClassifier {
 public:
  // Empty patterns match nothing. Patterns were validated by config parsing.
  LogClassifier(const std::string& error_pattern, const std::string& warning_pattern,
                const std::string& coverage_pattern);
  // Classifies one line (without its newline).
  void line(std::string_view text, LogCounts& counts) const;
  // Classifies a whole file line by line.
  Result<LogCounts> file(const std::filesystem::path& log) const;

  static constexpr size_t kMaxLine = 4096;  // longer lines are matched on their first 4 KiB

 private:
  struct Pattern {
    std::optional<std::regex> re;
    std::vector<std::string> literals;  // one of them occurs in every match (a cheap prefilter)
    bool literal_only = false;          // the pattern is just "lit|lit|...": no regex needed
  };
  static Pattern compile(const std::string& pattern);
  static bool search(const Pattern& p, std::string_view text, std::cmatch* match);

  Pattern error_, warning_, coverage_;
};

}  // namespace runbot
