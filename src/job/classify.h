// Log classification: per line, error pattern => error, else warning pattern => warning;
// coverage from the first capture of coverage_pattern. Patterns are RE2 (linear time).
// Streaming in bounded memory: `\n`, `\r` and `\r\n` end a line; a line of up to kWindow
// bytes is matched whole, a longer one in kWindow windows overlapping by kOverlap bytes, so
// no match shorter than kOverlap is ever missed, however long its line.
#pragma once
#include <re2/re2.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace runbot {

struct LogCounts {
  int errors = 0;
  int warnings = 0;
  std::optional<double> coverage;  // last match wins
};

// One classified line, as handed to a LineVisitor. The views are valid during the call only.
struct LogLine {
  int64_t number = 0;           // 1-based, `\r\n` counting as one line end
  uint64_t offset = 0;          // byte offset of the line's start in the log
  std::string_view head;        // the line's first bytes (all of it when `whole`), without its end
  bool whole = true;            // head is the whole line
  std::string_view error_text;  // error lines: from the first error match on, capped
  bool error = false;
  bool warning = false;  // only when not an error
};
using LineVisitor = std::function<void(const LogLine&)>;

class LogClassifier {
 public:
  // Empty patterns match nothing; a pattern RE2 refuses also matches nothing (config parsing
  // and the runner reject them before we get here).
  LogClassifier(const std::string& error_pattern, const std::string& warning_pattern,
                const std::string& coverage_pattern);
  ~LogClassifier();
  // Classifies `text` as one line (a `\r` or `\n` in it ends a line, like in a file).
  void line(std::string_view text, LogCounts& counts) const;
  // Classifies a whole file line by line, calling `visitor` (if any) after each line.
  Result<LogCounts> file(const std::filesystem::path& log,
                         const LineVisitor& visitor = nullptr) const;

  static constexpr size_t kWindow = 1 << 20;    // lines up to this are matched whole
  static constexpr size_t kOverlap = 64 << 10;  // windows of longer lines overlap by this
  static constexpr size_t kHead = 4096;         // LogLine::head of a longer line

  class Scan;  // the streaming state of one log

 private:
  std::unique_ptr<const RE2> error_, warning_, coverage_;
};

}  // namespace runbot
