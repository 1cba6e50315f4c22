// The PostgreSQL kind of JobDatabase (database.h), driven through psql and pg_restore.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "jobdb/jobdb.h"
#include "util/result.h"

namespace runbot {

// A JobDatabase on the server `config` names (config.kind is "postgresql").
Result<std::unique_ptr<JobDatabase>> make_postgres_database(const DatabaseConfig& config);

// The PG* variables that connect the client tools to the server of `config` (never
// PGDATABASE); `admin_db` receives the maintenance database (the dsn's dbname or admin_db).
Result<std::map<std::string, std::string>> postgres_env(const DatabaseConfig& config,
                                                        std::string& admin_db);

// postgresql://user@host:port/<db>[?settings] for those variables (never the password).
std::string postgres_url(const std::map<std::string, std::string>& env, const std::string& db);

}  // namespace runbot
