// The wall clock, overridable for tests by RUNBOT_NOW (seconds since the epoch).
#pragma once
#include <optional>
#include <string>

#include "util/time.h"

namespace runbot {

// Current time in seconds; RUNBOT_NOW in the environment replaces it (tests only).
Time now();
// Monotonic seconds with sub-second precision, for durations.
double monotonic_seconds();
// "2026-11-24T12:00:00Z"; "" for 0.
std::string iso8601(Time t);
// "2026-11-24T12:00:00Z" -> seconds since the epoch; nullopt if it is not that shape.
std::optional<Time> parse_iso8601(const std::string& text);

}  // namespace runbot
