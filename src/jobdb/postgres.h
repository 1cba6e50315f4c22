// The PostgreSQL kind of JobDatabase (database.h), driven through psql and pg_restore.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "jobdb/jobdb.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// A JobDatabase on the server `config` names (config.kind is "postgresql"). Each job's
// database is owned by its own role runbot_<id> (LOGIN only, a random password kept 0600 in
// jobs/<id>/database.secret); steps and instances connect as that role, never as the
// configured (admin) one, and only that role may CONNECT to the database.
Result<std::unique_ptr<JobDatabase>> make_postgres_database(const DatabaseConfig& config,
                                                            const Paths& paths);

// The PG* variables that connect the client tools to the server of `config` (never
// PGDATABASE); `admin_db` receives the maintenance database (the dsn's dbname or admin_db).
Result<std::map<std::string, std::string>> postgres_env(const DatabaseConfig& config,
                                                        std::string& admin_db);

// postgresql://user@host:port/<db>[?settings] for those variables (never the password).
std::string postgres_url(const std::map<std::string, std::string>& env, const std::string& db);

}  // namespace runbot
