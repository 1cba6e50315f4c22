// libpq connection settings as runbot.toml's [database] dsn gives them: the two syntaxes libpq
// reads ("host=db port=5433 user='a b'" and "postgresql://user:pw@host:port/db?sslmode=..."),
// limited to the keywords that have a PG* environment variable (plus dbname).
#pragma once
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace runbot {

// Keyword -> value of a dsn. Unknown keywords, bad quoting or bad percent-encoding are errors.
Result<std::map<std::string, std::string>> parse_conninfo(std::string_view dsn);

// The PG* variable libpq reads for `keyword` ("" when it has none, or for dbname).
std::string_view conninfo_env_name(std::string_view keyword);

// Every keyword with its variable, in the order of libpq's documentation.
struct ConninfoKeyword {
  std::string_view keyword;
  std::string_view env;
};
std::span<const ConninfoKeyword> conninfo_keywords();

}  // namespace runbot
