// Error extraction (SPEC "Build errors"): from a step's classified lines, every error-pattern
// line is one error, and a Python traceback (from "Traceback (most recent call last):" to its
// exception line, with the error line that introduced it, as Odoo logs them) is one error, not
// one per line. At most kMaxPerStep per step; each carries its fingerprint.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "job/classify.h"
#include "job/fingerprint.h"

namespace runbot {

struct BuildError {
  std::string step;
  int64_t line = 0;     // the error's first line in the step's log (1-based)
  uint64_t offset = 0;  // its byte offset there
  std::string text;     // as logged: one line, or a traceback's lines (middle frames elided)
  std::string fingerprint;
};

class ErrorExtractor {
 public:
  static constexpr size_t kMaxPerStep = 200;
  static constexpr size_t kMaxLine = 400;   // bytes kept of each line of an error
  static constexpr size_t kMaxFrames = 12;  // lines kept before a traceback's exception line

  ErrorExtractor(std::string step, ErrorContext context);
  // Feeds the step's lines in order (LogClassifier::file's visitor).
  void line(const LogLine& l);
  // Ends the log (a traceback still open ends there) and returns the step's errors.
  std::vector<BuildError> finish();
  // Errors beyond kMaxPerStep, not recorded.
  int dropped() const { return dropped_; }

 private:
  struct Open {
    int64_t line = 0;
    uint64_t offset = 0;
    std::vector<std::string> head;    // the error line and the traceback header
    std::vector<std::string> frames;  // the last kMaxFrames lines of the traceback
    bool elided = false;
    bool error = false;  // some line of it matched error_pattern
  };
  void emit(Open&& e);
  void end_traceback(std::optional<std::string> exception_line);

  std::string step_;
  ErrorContext context_;
  std::optional<Open> pending_;    // an error line: a traceback may follow it
  std::optional<Open> traceback_;  // inside a traceback
  std::vector<BuildError> errors_;
  int dropped_ = 0;
};

// The paths of job `job_dir` as the runner and the sandbox see them.
ErrorContext job_error_context(const std::filesystem::path& job_dir);

inline constexpr const char* kErrorsMarker = "errors.json";

// The errors of a job's steps so far, as its runner keeps them in jobs/<id>/errors.json.
class JobErrors {
 public:
  explicit JobErrors(ErrorContext context) : context_(std::move(context)) {}
  // Classifies a step's log and extracts its errors, in one pass over it.
  Result<LogCounts> scan_step(const LogClassifier& classifier, const std::string& step,
                              const std::filesystem::path& log);
  // Writes errors.json (atomically); texts are shortened past a budget so the marker stays
  // well under the 1 MiB a marker may have.
  Status write(const std::filesystem::path& job_dir) const;
  const std::vector<BuildError>& errors() const { return errors_; }
  int dropped() const { return dropped_; }

 private:
  ErrorContext context_;
  std::vector<BuildError> errors_;
  int dropped_ = 0;
};

// errors.json of job `job_dir`: none when it is missing; an Error when unreadable.
Result<std::vector<BuildError>> read_errors(const std::filesystem::path& job_dir);

}  // namespace runbot
