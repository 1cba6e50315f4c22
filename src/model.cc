#include "model.h"

namespace runbot {

std::string_view to_string(JobState s) {
  switch (s) {
    case JobState::pending: return "pending";
    case JobState::building: return "building";
    case JobState::running: return "running";
    case JobState::done: return "done";
  }
  return "pending";
}

std::string_view to_string(JobResult r) {
  switch (r) {
    case JobResult::ok: return "ok";
    case JobResult::warn: return "warn";
    case JobResult::ko: return "ko";
    case JobResult::killed: return "killed";
    case JobResult::skipped: return "skipped";
  }
  return "ko";
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (auto v : {JobState::pending, JobState::building, JobState::running, JobState::done})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

std::optional<JobResult> parse_job_result(std::string_view s) {
  for (auto v : {JobResult::ok, JobResult::warn, JobResult::ko, JobResult::killed,
                 JobResult::skipped})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

}  // namespace runbot
