// [database]: where each job's database is made (SPEC "Per-job databases").
#include <fmt/format.h>

#include <limits>

#include "config/config.h"
#include "config/conninfo.h"
#include "config/sections.h"
#include "model.h"

namespace runbot {

using config_check::Checker;

namespace {
constexpr int64_t kIntMax = std::numeric_limits<int>::max();
}  // namespace

// [database]: sqlite (default) needs nothing; postgresql takes either host/port/user/password
// or a dsn. Names the runbot would drop (runbot_<digits>) are refused as template/admin_db.
void read_database(Checker& c, const toml::table& t, DatabaseConfig& d) {
  const std::string w = "[database]";
  c.known_keys(t,
               {"kind", "host", "port", "user", "password", "dsn", "template", "dump", "admin_db",
                "timeout"},
               w);
  if (const auto* v = c.get<std::string>(t, "kind", w, "a string")) {
    if (v->get() == "sqlite" || v->get() == "postgresql") {
      d.kind = v->get();
    } else {
      c.error(*v, fmt::format("{} kind must be \"sqlite\" or \"postgresql\" (got \"{}\")", w,
                              v->get()));
    }
  }
  auto text = [&](std::string_view key, std::string& out) -> const toml::node* {
    const auto* v = c.get<std::string>(t, key, w, "a string");
    if (!v) return nullptr;
    if (v->get().empty() || v->get().find('\0') != std::string::npos) {
      c.error(*v, fmt::format("{} {} must be a non-empty string without NUL bytes", w, key));
      return nullptr;
    }
    out = v->get();
    return v;
  };
  const toml::node* host = text("host", d.host);
  c.read(t, "port", w, 1, 65535, d.port);
  const toml::node* user = text("user", d.user);
  const toml::node* password = text("password", d.password);
  const toml::node* dsn = text("dsn", d.dsn);
  const toml::node* templ = text("template", d.template_db);
  text("dump", d.dump);
  const toml::node* admin = text("admin_db", d.admin_db);
  c.read(t, "timeout", w, 1, kIntMax, d.timeout);

  if (d.kind == "sqlite") {
    for (std::string_view key :
         {"host", "port", "user", "password", "dsn", "template", "dump", "admin_db"}) {
      if (const toml::node* n = t.get(key))
        c.error(*n, fmt::format("{} {} is only used with kind = \"postgresql\"", w, key));
    }
    return;
  }
  if (host && d.host.find('/') != std::string::npos && d.host.front() != '/') {
    c.error(*host, fmt::format("{} host \"{}\" must be a host name or an absolute socket "
                               "directory",
                               w, d.host));
  }
  for (auto [node, key] : {std::pair{templ, "template"}, std::pair{admin, "admin_db"}}) {
    if (node && is_job_database_name(node->value_or(std::string{}))) {
      c.error(*node, fmt::format("{} {} \"{}\" is a job database name (runbot_<id>): the "
                                 "runbot drops those",
                                 w, key, node->value_or(std::string{})));
    }
  }
  if (!dsn) return;
  for (auto [node, key] : {std::pair{host, "host"}, std::pair{user, "user"},
                           std::pair{password, "password"}, std::pair{t.get("port"), "port"}}) {
    if (node)
      c.error(*node, fmt::format("{} give either dsn or {}, not both (put it in the dsn)", w, key));
  }
  auto settings = parse_conninfo(d.dsn);
  if (!settings) {
    c.error(*dsn, fmt::format("{} dsn: {}", w, settings.error().message));
  } else if (auto db = settings->find("dbname"); db != settings->end()) {
    if (admin) {
      c.error(*admin, fmt::format("{} admin_db is given twice: here and as dbname in the dsn", w));
    } else if (is_job_database_name(db->second)) {
      c.error(*dsn, fmt::format("{} dsn dbname \"{}\" is a job database name (runbot_<id>): the "
                                "runbot drops those",
                                w, db->second));
    }
  }
}

}  // namespace runbot
