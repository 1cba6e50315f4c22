#include "site/names.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace runbot {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// [A-Za-z0-9_.-]+ not starting with '.'.
bool is_safe_segment(std::string_view s) {
  if (s.empty() || s.front() == '.') return false;
  for (char c : s)
    if (!is_name_char(c)) return false;
  return true;
}

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_readable_key(const std::string& group) {
  if (group.empty() || group.size() > 100) return false;
  char c = group.front();
  bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum && std::all_of(group.begin(), group.end(), is_name_char);
}

}  // namespace

std::string group_key(const std::string& group) {
  if (is_readable_key(group)) return group;
  constexpr size_t kMaxHexBytes = 60;  // keeps file names far below NAME_MAX
  if (group.size() <= kMaxHexBytes) {
    std::string hex = "~";
    for (unsigned char c : group) hex += fmt::format("{:02x}", c);
    return group.empty() ? "~empty" : hex;
  }
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : group) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("~h{:016x}", h);
}

std::string badge_path(const std::string& group) { return "badge/" + group_key(group) + ".svg"; }

std::string group_page_path(const std::string& group) {
  return "group/" + group_key(group) + ".html";
}

std::string group_page_path(const std::string& group, int64_t n) {
  return fmt::format("group/{}/{}.html", group_key(group), n);
}

bool is_safe_artifact(const std::string& artifact) {
  if (artifact.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t slash = artifact.find('/', start);
    std::string_view seg(artifact.data() + start,
                         (slash == std::string::npos ? artifact.size() : slash) - start);
    if (!is_safe_segment(seg)) return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

std::optional<std::string> log_href(const std::string& log) {
  constexpr std::string_view kPrefix = "jobs/";
  if (log.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string_view rest(log);
  rest.remove_prefix(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || !is_digits(rest.substr(0, slash))) return std::nullopt;
  std::string_view tail = rest.substr(slash + 1);
  constexpr std::string_view kLogs = "logs/";
  if (tail.rfind(kLogs, 0) != 0 || !is_safe_segment(tail.substr(kLogs.size()))) return std::nullopt;
  return "/" + log;
}

std::string url_encode(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_name_char(static_cast<char>(c)) || c == '~' || c == '/')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

bool is_plain_http_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) return false;
  for (unsigned char c : url)
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\')
      return false;
  return true;
}

}  // namespace runbot
