#include "util/pattern.h"

namespace runbot {

Result<std::unique_ptr<const RE2>> compile_pattern(const std::string& pattern) {
  if (pattern.empty()) return std::unique_ptr<const RE2>();
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<const RE2>(pattern, options);
  if (!re->ok()) return Error{re->error()};
  return std::unique_ptr<const RE2>(std::move(re));
}

}  // namespace runbot
