#include "job/fingerprint.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace runbot {

namespace {

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

// The placeholders that need a regex, in the order they apply (a date before its numbers).
struct Rule {
  std::unique_ptr<const RE2> re;
  const char* placeholder;
};
const std::vector<Rule>& rules() {
  static const auto* r = new std::vector<Rule>([] {
    std::vector<Rule> v;
    auto add = [&](const char* pattern, const char* placeholder) {
      v.push_back(Rule{std::make_unique<const RE2>(pattern), placeholder});
    };
    v.reserve(6);
    add(R"(\x1b\[[0-9;?]*[A-Za-z])", "");
    add(R"((?:/tmp|/var/tmp|/dev/shm)/[^\s'":,;)\]}>]*)", "<tmp>");
    add(R"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})", "<uuid>");
    add(R"(\b0x[0-9a-fA-F]+\b)", "<addr>");
    add(R"(\b\d{4}-\d\d-\d\d(?:[T _]\d\d[:_]\d\d(?:[:_]\d\d(?:[.,_]\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?)",
        "<time>");
    add(R"(\b\d{1,2}:\d\d:\d\d(?:[.,]\d+)?\b)", "<time>");
    return v;
  }());
  return *r;
}

// Words of 7+ hex digits with a digit and a letter become <hex>; other digit runs become
// <n> ("0.52" is "<n>.<n>"), except up to 3 digits right after a letter (psycopg2); blanks collapse
// to one space, or one newline if they hold one.
std::string replace_words(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
      size_t j = i;
      bool newline = false;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j])))
        newline |= s[j++] == '\n';
      if (!out.empty() && j < s.size()) out += newline ? '\n' : ' ';
      i = j;
      continue;
    }
    if (!is_word(c)) {
      out += c;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_word(s[j])) ++j;
    std::string_view word(s.data() + i, j - i);
    bool hex = word.size() >= 7 && std::all_of(word.begin(), word.end(), is_hex) &&
               std::any_of(word.begin(), word.end(), is_digit) &&
               !std::all_of(word.begin(), word.end(), is_digit);
    if (hex) {
      out += "<hex>";
    } else {
      for (size_t k = 0; k < word.size();) {
        if (!is_digit(word[k])) {
          out += word[k++];
          continue;
        }
        size_t start = k;
        while (k < word.size() && is_digit(word[k])) ++k;
        // A few digits right after a letter name something (psycopg2, sha256, utf8).
        bool name = start > 0 && std::isalpha(static_cast<unsigned char>(word[start - 1])) &&
                    k - start <= 3;
        out += name ? std::string(word.substr(start, k - start)) : "<n>";
      }
    }
    i = j;
  }
  return out;
}

}  // namespace

std::string normalise_error(std::string_view text, const ErrorContext& context) {
  std::string s(text);
  std::vector<std::string> paths = context.job_paths;
  std::sort(paths.begin(), paths.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& p : paths) replace_all(s, p, "<job>");
  for (const auto& rule : rules()) RE2::GlobalReplace(&s, *rule.re, rule.placeholder);
  return replace_words(s);
}

std::string error_fingerprint(std::string_view text, const ErrorContext& context) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : normalise_error(text, context)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string error_summary(std::string_view text, size_t max) {
  auto first_end = text.find('\n');
  std::string s(text.substr(0, first_end));
  if (first_end != std::string_view::npos) {
    std::string_view rest = text.substr(first_end + 1);
    while (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
    auto last = rest.rfind('\n');
    std::string_view last_line = last == std::string_view::npos ? rest : rest.substr(last + 1);
    if (!last_line.empty()) s += fmt::format(" … {}", last_line);
  }
  if (s.size() <= max) return s;
  size_t cut = max > 3 ? max - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

}  // namespace runbot
