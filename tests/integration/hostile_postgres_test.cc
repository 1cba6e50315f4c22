// Attacks on PostgreSQL (SPEC "Untrusted code", Databases): a fork's step, given its own
// database, tries another job's database and the runbot's admin role, and looks for the
// admin's password in its environment and in every file it can read. The server needs a
// password for every connection (tests/support/postgres.h, shared_with_password).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "hostile.h"
#include "support/postgres.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

TEST(HostilePostgres, StepUsesItsOwnRoleAndDatabaseOnly) {
  std::string why;
  PostgresServer* pg = PostgresServer::shared_with_password(&why);
  if (!pg) GTEST_SKIP() << "PostgreSQL is not available: " << why;
  pg->drop_all_databases();
  const std::string admin = pg->password();
  ASSERT_FALSE(admin.empty());
  Family f("", "steps = [" + script_step("pg", "pg.sh") + "]",
           fmt::format("[database]\nkind = \"postgresql\"\nhost = \"127.0.0.1\"\nport = {}\n"
                       "user = \"{}\"\npassword = \"{}\"\n",
                       pg->port(), pg->user(), admin));
  only_trunk(f);
  ASSERT_TRUE(f.settle(60));  // job 1 (trunk) and its database: another team's
  auto theirs = newest_job(f, "trunk");
  ASSERT_EQ(theirs["result"], "ok") << theirs.dump(2);
  const std::string their_db = fmt::format("runbot_{}", theirs["id"].get<int64_t>());
  ASSERT_TRUE(pg->has_database(their_db));

  f.server->branch("trunk-pg", "trunk");
  commit_script(f, "trunk-pg", "pg.sh",
                fmt::format(R"sh(echo "pguser=$PGUSER"
psql -X -At -w -c 'select current_user' | sed 's/^/current_user=/'
psql -X -At -w -v ON_ERROR_STOP=1 -c 'create table mine(x int)' -c 'insert into mine values (42)' -c 'select sum(x) from mine' | sed 's/^/own=/'
psql -X -At -w -d {0} -c 'select 1' >/dev/null 2>&1 && echo "REACH""ED {0}"
for u in $(printf "%s\\n" {1} postgres root | sort -u); do  # (the probes' words are split: this script shows up in its own grep)
  PGUSER=$u psql -X -At -w -d postgres -c 'select 1' >/dev/null 2>&1 && echo "ADM""IN $u"
done
env
cat "$RUNBOT_JOB_DIR"/*.json "$HOME/.pgpass" '{2}/runbot.toml' '{3}/runbot.toml' 2>/dev/null
for d in "$RUNBOT_JOB_DIR" "$RUNBOT_JOB_DIR/../.." "$HOME" /tmp; do grep -rsI . "$d" 2>/dev/null | head -c 200000; done
echo probed
)sh",
                            their_db, pg->user(), f.state.string(), f.tmp.path().string()));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk-pg");
  ASSERT_FALSE(job.is_null()) << f.status().dump(2);
  const std::string own = fmt::format("runbot_{}", job["id"].get<int64_t>());
  std::string log = step_log(f, "trunk-pg", "pg");
  ASSERT_NE(log.find("probed"), std::string::npos) << log;
  EXPECT_NE(log.find("current_user=" + own + "\n"), std::string::npos)
      << "the step does not connect as its own role:\n"
      << log.substr(0, 2000);
  EXPECT_NE(log.find("own=42\n"), std::string::npos) << "it cannot use its own database:\n"
                                                     << log.substr(0, 2000);
  EXPECT_EQ(log.find("REACHED"), std::string::npos) << "it reached another job's database";
  EXPECT_EQ(log.find("ADMIN "), std::string::npos) << "it connected as an admin role:\n"
                                                   << log.substr(0, 2000);
  EXPECT_EQ(log.find(admin), std::string::npos) << "the admin's password reached the step";
  // The role is the job's: LOGIN only.
  EXPECT_EQ(pg->query("postgres", fmt::format("SELECT rolsuper OR rolcreatedb OR rolcreaterole "
                                              "FROM pg_roles WHERE rolname = '{}'",
                                              own)),
            "f");

  // Every file holding a password is 0600: job.json, and whatever holds the admin's.
  for (const auto& e : fs::recursive_directory_iterator(f.state)) {
    if (!e.is_regular_file()) continue;
    const bool spec = e.path().filename() == "job.json";
    if (!spec && read_text(e.path()).find(admin) == std::string::npos) continue;
    struct stat st {};
    ASSERT_EQ(stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u)
        << e.path() << " holds a password and is mode " << std::oct << (st.st_mode & 0777);
  }
}

}  // namespace
}  // namespace runbot::test
