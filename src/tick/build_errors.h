// Build errors when a build ends (SPEC "Build errors"): a ko job's errors (errors.json) get a
// class and go into runbot.db, its note says what they are, and its details keep the first
// kPublished for status.json and its page; a job that passes makes the errors of the failed
// jobs with the same revisions flaky, and those jobs change (so they are republished).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

inline constexpr size_t kPublishedErrors = 20;

// What a ko job's errors are, for its note.
struct ErrorClasses {
  int fresh = 0;  // new
  int known = 0;
  int flaky = 0;
  std::optional<ErrorSighting> known_in;  // where the first known one was seen
  std::optional<int64_t> passed_on;       // the passing job that makes them flaky
};

// "2 new errors, 1 known error (trunk #231)" or "flaky: passed on #233"; "" when none.
std::string error_note(const ErrorClasses& c);

// Call when `job`'s build has just ended (the caller saves `job`); `changed` gets the other
// jobs it updated, `warnings` an unreadable errors.json. Recording twice changes nothing.
void record_build_errors(const Paths& paths, Db& db, Job& job, std::vector<int64_t>& changed,
                         std::vector<std::string>& warnings);

}  // namespace runbot
