// Error fingerprints (SPEC "Build errors"): the same error in two jobs or two groups has the
// same fingerprint, whatever numbers, ids, addresses, times, temp paths and job paths it
// carries. Pure functions, no I/O.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace runbot {

// What belongs to the job that logged an error (its folder as the runner and as the sandbox
// see it): replaced by <job> before anything else.
struct ErrorContext {
  std::vector<std::string> job_paths;
};

// The error's text with terminal colours removed, the job's paths as <job>, temp paths
// (/tmp, /var/tmp, /dev/shm) as <tmp>, UUIDs as <uuid>, 0x addresses as <addr>, dates and
// times as <time>, words of 7+ hex digits holding a digit as <hex>, numbers as <n> (but not
// up to 3 digits right after a letter: psycopg2, sha256), and runs of blanks as one space.
std::string normalise_error(std::string_view text, const ErrorContext& context);

// 16 hex digits: a stable 64-bit hash (FNV-1a) of normalise_error(text).
std::string error_fingerprint(std::string_view text, const ErrorContext& context);

// One line of at most `max` bytes saying what an error is: a traceback's first line and its
// exception line, else its first line; cut on a UTF-8 boundary with "…".
std::string error_summary(std::string_view text, size_t max = 240);

}  // namespace runbot
