// The PG* variables the client tools and the jobs get from [database], and the URL shown to
// jobs as RUNBOT_DB_URL.
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cctype>

#include "config/conninfo.h"
#include "jobdb/postgres.h"

namespace runbot {

namespace {

std::string percent_encode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string current_user() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  return {};
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

Result<std::map<std::string, std::string>> postgres_env(const DatabaseConfig& config,
                                                        std::string& admin_db) {
  std::map<std::string, std::string> env;
  admin_db = config.admin_db.empty() ? "postgres" : config.admin_db;
  if (!config.dsn.empty()) {
    auto settings = parse_conninfo(config.dsn);
    if (!settings) return Error{fmt::format("dsn: {}", settings.error().message)};
    for (const auto& [keyword, value] : *settings) {
      if (keyword == "dbname") {
        if (!value.empty()) admin_db = value;
      } else if (!value.empty()) {
        env[std::string(conninfo_env_name(keyword))] = value;
      }
    }
  } else {
    if (!config.host.empty()) env["PGHOST"] = config.host;
    env["PGPORT"] = std::to_string(config.port);
    if (!config.user.empty()) env["PGUSER"] = config.user;
    if (!config.password.empty()) env["PGPASSWORD"] = config.password;
  }
  if (!env.count("PGUSER")) {
    if (std::string user = current_user(); !user.empty()) env["PGUSER"] = user;
  }
  return env;
}

std::string postgres_url(const std::map<std::string, std::string>& env, const std::string& db) {
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string{} : it->second;
  };
  std::string url = "postgresql://";
  if (std::string user = get("PGUSER"); !user.empty()) url += percent_encode(user) + "@";
  std::vector<std::string> hosts = split(get("PGHOST")), ports = split(get("PGPORT"));
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i) url += ',';
    const std::string& h = hosts[i];
    url += h.find(':') != std::string::npos && h.front() != '/' ? "[" + h + "]" : percent_encode(h);
    const std::string& port = ports.size() == 1 ? ports[0] : i < ports.size() ? ports[i] : "";
    if (!port.empty()) url += ":" + percent_encode(port);
  }
  url += "/" + percent_encode(db);
  char sep = '?';
  for (const auto& [keyword, name] : conninfo_keywords()) {
    if (keyword == "host" || keyword == "port" || keyword == "user" || keyword == "password")
      continue;
    if (std::string v = get(std::string(name).c_str()); !v.empty()) {
      url += fmt::format("{}{}={}", sep, keyword, percent_encode(v));
      sep = '&';
    }
  }
  return url;
}

}  // namespace runbot
