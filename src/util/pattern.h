// User patterns (error_pattern, warning_pattern, coverage_pattern): RE2, linear time in the
// text whatever the pattern, so no log line can stall a runner. One place for RE2's options.
#pragma once
#include <re2/re2.h>

#include <memory>
#include <string>

#include "util/result.h"

namespace runbot {

// Compiles `pattern` (RE2 syntax, UTF-8, case sensitive). An empty pattern gives nullptr
// (matches nothing). A bad pattern gives RE2's own message.
Result<std::unique_ptr<const RE2>> compile_pattern(const std::string& pattern);

}  // namespace runbot
