// Readers of config sections kept out of config.cc (one file per section family).
#pragma once
#include <map>
#include <string>

#include "config/checker.h"
#include "config/sandbox.h"

namespace runbot {

// [sandbox]
void read_sandbox(config_check::Checker& c, const toml::table& t, SandboxConfig& s);
// [database]: sqlite (default) needs nothing; postgresql takes either host/port/user/password
// or a dsn. Names the runbot would drop (runbot_<id>) are refused as template/admin_db.
struct DatabaseConfig;
void read_database(config_check::Checker& c, const toml::table& t, DatabaseConfig& d);
// [executor]
struct ExecutorConfig;
void read_executor(config_check::Checker& c, const toml::table& t, ExecutorConfig& e);
// [build] env: a table of NAME = "value" given to every step and instance.
void read_build_env(config_check::Checker& c, const toml::table& build,
                    std::map<std::string, std::string>& env);

}  // namespace runbot
