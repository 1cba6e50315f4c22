#include "model.h"

#include <algorithm>

namespace runbot {

std::string_view to_string(JobState s) {
  switch (s) {
    case JobState::pending:
      return "pending";
    case JobState::building:
      return "building";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
  }
  return "pending";
}

std::string_view to_string(JobResult r) {
  switch (r) {
    case JobResult::ok:
      return "ok";
    case JobResult::warn:
      return "warn";
    case JobResult::ko:
      return "ko";
    case JobResult::killed:
      return "killed";
    case JobResult::skipped:
      return "skipped";
  }
  return "ko";
}

namespace {
constexpr std::string_view kDatabasePrefix = "runbot_";
}  // namespace

std::string job_database_name(int64_t id) {
  return std::string(kDatabasePrefix) + std::to_string(id);
}

bool is_job_database_name(std::string_view name) {
  if (name.size() <= kDatabasePrefix.size() || !name.starts_with(kDatabasePrefix)) return false;
  std::string_view digits = name.substr(kDatabasePrefix.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (auto v : {JobState::pending, JobState::building, JobState::running, JobState::done})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::optional<JobResult> parse_job_result(std::string_view s) {
  for (auto v :
       {JobResult::ok, JobResult::warn, JobResult::ko, JobResult::killed, JobResult::skipped})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

}  // namespace runbot
