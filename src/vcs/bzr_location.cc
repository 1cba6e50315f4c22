#include "vcs/bzr_location.h"

#include <cctype>
#include <filesystem>

#include "vcs/tool.h"

namespace runbot::bzr {

namespace {

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isdigit(u) ? c - '0' : std::tolower(u) - 'a' + 10;
}

bool is_escape_at(std::string_view s, size_t i) {
  return i + 2 < s.size() && s[i] == '%' && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
         std::isxdigit(static_cast<unsigned char>(s[i + 2]));
}

char escaped_byte(std::string_view s, size_t i) {
  return static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
}

// Strict: every '%' must start an escape.
std::optional<std::string> url_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
    } else if (is_escape_at(s, i)) {
      out += escaped_byte(s, i);
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

// Undoes breezy's urlutils.unescape_for_display on one segment: it decodes every escape but
// those of the characters below, unless the decoded segment is not UTF-8 (then it leaves the
// whole segment escaped).
std::string display_unescape(std::string_view seg) {
  auto full = url_unescape(seg);
  if (full && !is_valid_utf8(*full)) return *full;
  static constexpr std::string_view kKeptEscaped = ";/?:@&=+$,#";
  std::string out;
  for (size_t i = 0; i < seg.size(); ++i) {
    if (is_escape_at(seg, i) && kKeptEscaped.find(escaped_byte(seg, i)) != std::string_view::npos) {
      out += escaped_byte(seg, i);
      i += 2;
    } else {
      out += seg[i];
    }
  }
  return out;
}

std::string without_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

bool is_url(std::string_view location) {
  size_t colon = location.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(location[0]))) return false;
  for (char c : location.substr(0, colon))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '-')
      return false;
  return true;
}

std::string url_escape(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (is_unreserved(c) || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string base_url(const std::string& location) {
  if (is_url(location)) return without_trailing_slashes(location);
  std::error_code ec;
  auto abs = std::filesystem::absolute(location, ec).lexically_normal();
  return without_trailing_slashes("file://" + url_escape(abs.string()));
}

std::string own_name(const std::string& location) {
  std::string s = without_trailing_slashes(location);
  size_t slash = s.rfind('/');
  std::string last = slash == std::string::npos ? s : s.substr(slash + 1);
  if (is_url(location)) {
    if (slash == std::string::npos) last = last.substr(last.find(':') + 1);  // lp:name
    if (auto plain = url_unescape(last)) last = *plain;
  }
  return last;
}

std::optional<std::string> listed_branch_name(std::string_view line) {
  if (line.empty() || line == "." || line.front() == '/') return std::nullopt;
  std::string name;
  size_t index = 0;
  for (auto seg : vcs_tool::split(line, '/')) {
    std::optional<std::string> part = index == 0 ? url_unescape(seg) : display_unescape(seg);
    if (!part || part->empty()) return std::nullopt;
    if (index++) name += '/';
    name += *part;
  }
  return name;
}

}  // namespace runbot::bzr
