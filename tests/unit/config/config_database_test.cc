// [database] in runbot.toml: defaults, postgresql, errors with positions, the Odoo example.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "unit/config/config_test_util.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using config_test::errors_of;
using config_test::parse_ok;
using ::testing::HasSubstr;

TEST(DatabaseConfig, DefaultsAndPostgresql) {
  EXPECT_EQ(parse_ok("").database.kind, "sqlite");
  EXPECT_EQ(parse_ok("[database]\n").database.kind, "sqlite");
  Config c = parse_ok(R"toml(
[database]
kind = "postgresql"
host = "/var/run/postgresql"
port = 5433
user = "odoo"
password = "pw"
template = "odoo-template"
dump = "seed.dump"
admin_db = "maintenance"
timeout = 120
)toml");
  const DatabaseConfig& d = c.database;
  EXPECT_EQ(d.kind, "postgresql");
  EXPECT_EQ(d.host, "/var/run/postgresql");
  EXPECT_EQ(d.port, 5433);
  EXPECT_EQ(d.user, "odoo");
  EXPECT_EQ(d.password, "pw");
  EXPECT_EQ(d.template_db, "odoo-template");
  EXPECT_EQ(d.dump, "seed.dump");
  EXPECT_EQ(d.admin_db, "maintenance");
  EXPECT_EQ(d.timeout, 120);
  Config e = parse_ok("[database]\nkind = \"postgresql\"\ndsn = \"host=db user=x dbname=m\"\n");
  EXPECT_EQ(e.database.dsn, "host=db user=x dbname=m");
}

TEST(DatabaseConfig, ErrorsWithPositions) {
  EXPECT_EQ(
      errors_of("[database]\nkind = \"mysql\"\n"),
      "runbot.toml:2:8: [database] kind must be \"sqlite\" or \"postgresql\" (got \"mysql\")");
  EXPECT_THAT(errors_of("[database]\nkind = \"postgresql\"\nhots = \"x\"\n"),
              HasSubstr("runbot.toml:3:1: unknown key 'hots' in [database] (expected one of: "
                        "kind, host, port"));
  EXPECT_EQ(errors_of("[database]\nhost = \"db\"\n"),
            "runbot.toml:2:8: [database] host is only used with kind = \"postgresql\"");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nport = 70000\n"),
            "runbot.toml:3:8: [database] port must be at most 65535 (got 70000)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nport = \"5432\"\n"),
            "runbot.toml:3:8: [database] port must be an integer, not a string");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"host=a\"\nuser = \"u\"\n"),
            "runbot.toml:4:8: [database] give either dsn or user, not both (put it in the dsn)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"host=a sslmod=x\"\n"),
            "runbot.toml:3:7: [database] dsn: unknown or unsupported connection keyword "
            "'sslmod' (supported: dbname, host, port, user, password, sslmode, and the others "
            "libpq reads from a PG* environment variable)");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ndsn = \"dbname=a\"\nadmin_db = \"b\"\n"),
            "runbot.toml:4:12: [database] admin_db is given twice: here and as dbname in the dsn");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\ntemplate = \"runbot_3\"\n"),
            "runbot.toml:3:12: [database] template \"runbot_3\" is a job database name "
            "(runbot_<id>): the runbot drops those");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nhost = \"\"\n"),
            "runbot.toml:3:8: [database] host must be a non-empty string without NUL bytes");
  EXPECT_EQ(errors_of("[database]\nkind = \"postgresql\"\nhost = \"run/pg\"\n"),
            "runbot.toml:3:8: [database] host \"run/pg\" must be a host name or an absolute "
            "socket directory");
  EXPECT_EQ(errors_of("database = 3\n"),
            "runbot.toml:1:12: database must be a table ([database]), not an integer");
}

TEST(DatabaseConfig, OdooExampleLoads) {
  auto r = load_config(fs::path(RUNBOT_TEST_SHARE) / "examples/odoo.toml");
  ASSERT_TRUE(r) << r.error().message;
  const Config& c = *r;
  ASSERT_EQ(c.projects.size(), 2u);
  EXPECT_EQ(c.projects[0].name, "odoo");
  EXPECT_TRUE(c.projects[0].required);
  EXPECT_EQ(c.projects[0].remotes.front(), "https://github.com/odoo/odoo.git");
  EXPECT_EQ(c.projects[0].base_branches, (std::vector<std::string>{"17.0", "18.0", "master"}));
  EXPECT_EQ(c.projects[1].name, "enterprise");
  EXPECT_FALSE(c.projects[1].required);
  EXPECT_EQ(c.database.kind, "postgresql");
  EXPECT_FALSE(c.database.template_db.empty());
  EXPECT_EQ(c.build.error_pattern, "(ERROR|CRITICAL) |Traceback");
  EXPECT_EQ(c.build.warning_pattern, " WARNING ");
  EXPECT_EQ(c.build.coverage_pattern, "TOTAL.* ([0-9.]+)%");
  ASSERT_GE(c.build.steps.size(), 2u);
  bool installs = false, covers = false;
  for (const auto& s : c.build.steps) {
    installs |= s.run.find("-d $RUNBOT_DB") != std::string::npos &&
                s.run.find("--test-enable") != std::string::npos &&
                s.run.find("--stop-after-init") != std::string::npos;
    covers |= s.run.find("coverage report") != std::string::npos;
  }
  EXPECT_TRUE(installs);
  EXPECT_TRUE(covers);
  EXPECT_THAT(c.build.run, HasSubstr("--http-port=$RUNBOT_PORT"));
  EXPECT_THAT(c.build.run, HasSubstr("--db-filter=^$RUNBOT_DB$"));
  EXPECT_THAT(c.build.run, HasSubstr("-d $RUNBOT_DB"));
}

}  // namespace
}  // namespace runbot
