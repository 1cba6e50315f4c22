#include "job/classify.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <string.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>

#include "util/fd.h"

namespace runbot {

namespace {

bool is_meta(char c) { return c != '\0' && strchr(".^$*+?()[]{}|\\", c) != nullptr; }
bool is_quantifier(char c) { return c == '*' || c == '+' || c == '?' || c == '{'; }

// Splits `pattern` on its top-level '|' and returns the literal text each alternative must
// start with. `exact` is set when every alternative is nothing but that literal. An empty
// result means no usable prefilter (some alternative has no required literal).
std::vector<std::string> required_literals(const std::string& pattern, bool& exact) {
  std::vector<std::string> literals(1);
  exact = true;
  bool in_literal = true;  // still inside the current alternative's leading literal
  int depth = 0;
  bool in_class = false;
  auto end_literal = [&] {
    if (in_literal) in_literal = false, exact = false;
  };
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (in_class) {
      if (c == '\\') {
        ++i;
      } else if (c == ']') {
        in_class = false;
      }
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size()) {
      char escaped = pattern[++i];
      bool literal = !isalnum(static_cast<unsigned char>(escaped));
      if (depth > 0) continue;
      if (in_literal && literal) {
        if (i + 1 < pattern.size() && is_quantifier(pattern[i + 1])) {
          end_literal();
        } else {
          literals.back() += escaped;
        }
      } else {
        end_literal();
      }
      continue;
    }
    if (c == '[') {
      if (depth == 0) end_literal();
      in_class = true;
    } else if (c == '(') {
      if (depth == 0) end_literal();
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      literals.emplace_back();
      in_literal = true;
    } else if (depth == 0 && in_literal) {
      bool quantified = i + 1 < pattern.size() && is_quantifier(pattern[i + 1]);
      if (is_meta(c) || quantified) {
        end_literal();
      } else {
        literals.back() += c;
      }
    }
  }
  for (const auto& l : literals) {
    if (l.empty()) return {};
  }
  return literals;
}

bool contains_any(std::string_view text, const std::vector<std::string>& literals) {
  for (const auto& l : literals) {
    if (memmem(text.data(), text.size(), l.data(), l.size()) != nullptr) return true;
  }
  return false;
}

}  // namespace

LogClassifier::Pattern LogClassifier::compile(const std::string& pattern) {
  Pattern p;
  if (pattern.empty()) return p;
  try {
    p.re.emplace(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    // Config parsing rejects bad patterns; a hand-edited job.json must still not crash us.
    return p;
  }
  p.literals = required_literals(pattern, p.literal_only);
  if (p.literals.empty()) p.literal_only = false;
  return p;
}

// std::regex is slow; most lines of a big log contain none of a pattern's required literals,
// so memmem decides them without running the regex.
bool LogClassifier::search(const Pattern& p, std::string_view text, std::cmatch* match) {
  if (!p.re) return false;
  if (!p.literals.empty()) {
    if (!contains_any(text, p.literals)) return false;
    if (p.literal_only && !match) return true;
  }
  std::cmatch local;
  return std::regex_search(text.data(), text.data() + text.size(), match ? *match : local, *p.re);
}

LogClassifier::LogClassifier(const std::string& error_pattern, const std::string& warning_pattern,
                             const std::string& coverage_pattern)
    : error_(compile(error_pattern)),
      warning_(compile(warning_pattern)),
      coverage_(compile(coverage_pattern)) {}

void LogClassifier::line(std::string_view text, LogCounts& counts) const {
  if (text.size() > kMaxLine) text = text.substr(0, kMaxLine);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (search(error_, text, nullptr)) {
    ++counts.errors;
  } else if (search(warning_, text, nullptr)) {
    ++counts.warnings;
  }
  std::cmatch m;
  if (search(coverage_, text, &m) && m.size() > 1 && m[1].matched) {
    double value = 0;
    auto [end, ec] = std::from_chars(m[1].first, m[1].second, value);
    if (ec == std::errc() && end != m[1].first) counts.coverage = value;
  }
}

Result<LogCounts> LogClassifier::file(const std::filesystem::path& log) const {
  Fd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error{fmt::format("cannot read {}: {}", log.string(), strerror(errno))};
  LogCounts counts;
  std::vector<char> chunk(64 * 1024);
  std::string current;  // the line being assembled, cut at kMaxLine bytes
  current.reserve(kMaxLine);
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("cannot read {}: {}", log.string(), strerror(errno))};
    }
    if (n == 0) break;
    std::string_view data(chunk.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      size_t nl = data.find('\n');
      std::string_view piece = data.substr(0, nl);
      if (current.size() < kMaxLine) current.append(piece.substr(0, kMaxLine - current.size()));
      if (nl == std::string_view::npos) break;
      line(current, counts);
      current.clear();
      data.remove_prefix(nl + 1);
    }
  }
  fd.reset();
  if (!current.empty()) line(current, counts);
  return counts;
}

}  // namespace runbot
