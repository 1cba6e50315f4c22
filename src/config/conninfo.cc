#include "config/conninfo.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace runbot {

namespace {

// libpq keywords that have an environment variable (PostgreSQL 15 docs, 34.15).
constexpr ConninfoKeyword kKeywords[] = {
    {"host", "PGHOST"},
    {"hostaddr", "PGHOSTADDR"},
    {"port", "PGPORT"},
    {"user", "PGUSER"},
    {"password", "PGPASSWORD"},
    {"passfile", "PGPASSFILE"},
    {"channel_binding", "PGCHANNELBINDING"},
    {"service", "PGSERVICE"},
    {"options", "PGOPTIONS"},
    {"application_name", "PGAPPNAME"},
    {"sslmode", "PGSSLMODE"},
    {"requiressl", "PGREQUIRESSL"},
    {"sslcompression", "PGSSLCOMPRESSION"},
    {"sslcert", "PGSSLCERT"},
    {"sslkey", "PGSSLKEY"},
    {"sslrootcert", "PGSSLROOTCERT"},
    {"sslcrl", "PGSSLCRL"},
    {"sslcrldir", "PGSSLCRLDIR"},
    {"sslsni", "PGSSLSNI"},
    {"requirepeer", "PGREQUIREPEER"},
    {"ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION"},
    {"ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION"},
    {"gssencmode", "PGGSSENCMODE"},
    {"krbsrvname", "PGKRBSRVNAME"},
    {"gsslib", "PGGSSLIB"},
    {"connect_timeout", "PGCONNECT_TIMEOUT"},
    {"client_encoding", "PGCLIENTENCODING"},
    {"target_session_attrs", "PGTARGETSESSIONATTRS"},
};

}  // namespace

std::span<const ConninfoKeyword> conninfo_keywords() { return kKeywords; }

std::string_view conninfo_env_name(std::string_view keyword) {
  for (const auto& [k, e] : kKeywords)
    if (k == keyword) return e;
  return {};
}

namespace {

Status check_keyword(const std::string& keyword) {
  if (keyword == "dbname" || !conninfo_env_name(keyword).empty()) return {};
  return Error{
      fmt::format("unknown or unsupported connection keyword '{}' (supported: dbname, "
                  "host, port, user, password, sslmode, and the others libpq reads "
                  "from a PG* environment variable)",
                  keyword)};
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

Result<std::string> percent_decode(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
      return Error{fmt::format("bad percent-encoding in the {} of the URI", what)};
    out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
    i += 2;
  }
  if (out.find('\0') != std::string::npos)
    return Error{fmt::format("the {} of the URI contains a NUL byte", what)};
  return out;
}

Status add(std::map<std::string, std::string>& out, std::string keyword, std::string value) {
  if (auto st = check_keyword(keyword); !st) return st;
  out[std::move(keyword)] = std::move(value);
  return {};
}

// "keyword = value ..." where a value is bare or single-quoted, with \ escaping.
Result<std::map<std::string, std::string>> parse_key_values(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  while (true) {
    skip_space();
    if (i == s.size()) break;
    std::string keyword;
    while (i < s.size() && s[i] != '=' && !is_space(s[i])) keyword += s[i++];
    skip_space();
    if (i == s.size() || s[i] != '=')
      return Error{fmt::format("missing \"=\" after '{}' (expected keyword=value)", keyword)};
    ++i;
    skip_space();
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      if (i == s.size()) return Error{fmt::format("unterminated quoted value for '{}'", keyword)};
      ++i;
    } else {
      while (i < s.size() && !is_space(s[i])) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
    }
    if (auto st = add(out, std::move(keyword), std::move(value)); !st) return st.error();
  }
  return out;
}

// postgresql://[user[:password]@][host][:port][,...][/dbname][?keyword=value&...]
Result<std::map<std::string, std::string>> parse_uri(std::string_view s) {
  std::map<std::string, std::string> out;
  s.remove_prefix(s.find("://") + 3);
  size_t end = std::min(s.find('/'), s.find('?'));
  std::string_view authority = s.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? "" : s.substr(end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon), "user");
    if (!user) return user.error();
    if (!user->empty()) out["user"] = *user;
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1), "password");
      if (!password) return password.error();
      out["password"] = *password;
    }
  }
  std::vector<std::string> hosts, ports;
  while (!authority.empty()) {
    size_t comma = authority.find(',');
    std::string_view item = authority.substr(0, comma);
    authority = comma == std::string_view::npos ? "" : authority.substr(comma + 1);
    std::string_view host = item, port;
    if (!item.empty() && item.front() == '[') {
      size_t close = item.find(']');
      if (close == std::string_view::npos) return Error{"unterminated [IPv6 address] in the URI"};
      host = item.substr(1, close - 1);
      port = item.substr(close + 1);
      if (!port.empty() && port.front() != ':')
        return Error{"unexpected text after an [IPv6 address] in the URI"};
      if (!port.empty()) port.remove_prefix(1);
    } else if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      host = item.substr(0, colon);
      port = item.substr(colon + 1);
    }
    auto h = percent_decode(host, "host");
    if (!h) return h.error();
    hosts.push_back(*h);
    ports.emplace_back(port);
  }
  auto join = [](const std::vector<std::string>& v) {
    return std::all_of(v.begin(), v.end(), [](const std::string& x) { return x.empty(); })
               ? std::string{}
               : fmt::format("{}", fmt::join(v, ","));
  };
  if (auto h = join(hosts); !h.empty()) out["host"] = h;
  if (auto p = join(ports); !p.empty()) out["port"] = p;
  if (!rest.empty() && rest.front() == '/') {
    size_t q = rest.find('?');
    auto db = percent_decode(rest.substr(1, q == std::string_view::npos ? q : q - 1), "dbname");
    if (!db) return db.error();
    if (!db->empty()) out["dbname"] = *db;
    rest = q == std::string_view::npos ? "" : rest.substr(q);
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // '?'
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos)
        return Error{fmt::format("URI parameter '{}' has no value (expected key=value)", pair)};
      auto key = percent_decode(pair.substr(0, eq), "parameters");
      auto value = percent_decode(pair.substr(eq + 1), "parameters");
      if (!key) return key.error();
      if (!value) return value.error();
      if (auto st = add(out, *key, *value); !st) return st.error();
    }
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> parse_conninfo(std::string_view dsn) {
  if (dsn.find('\0') != std::string_view::npos) return Error{"contains a NUL byte"};
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) return parse_uri(dsn);
  return parse_key_values(dsn);
}

}  // namespace runbot
