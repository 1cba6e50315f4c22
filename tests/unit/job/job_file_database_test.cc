// job.json's "database": round trip, absent in older files (SQLite), wrong type.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "job/job_file.h"
#include "support/support.h"

namespace runbot {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

TEST(DatabaseJobFile, RoundTripAndOptional) {
  TempDir dir;
  JobSpec s;
  s.id = 4;
  s.group = "trunk";
  s.database.kind = "postgresql";
  s.database.dsn = "host=db";
  s.database.template_db = "tmpl";
  s.database.dump = "/srv/seed.sql";
  s.database.timeout = 77;
  ASSERT_TRUE(write_job_spec(dir.path(), s));
  auto r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->database.kind, "postgresql");
  EXPECT_EQ(r->database.dsn, "host=db");
  EXPECT_EQ(r->database.template_db, "tmpl");
  EXPECT_EQ(r->database.dump, "/srv/seed.sql");
  EXPECT_EQ(r->database.timeout, 77);

  // A version-1 job.json from before [database]: SQLite.
  auto doc = nlohmann::json::parse(test::read_text(dir / "job.json"));
  doc.erase("database");
  test::write_text(dir / "job.json", doc.dump());
  r = read_job_spec(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->database.kind, "sqlite");

  doc["database"] = "postgresql";
  test::write_text(dir / "job.json", doc.dump());
  r = read_job_spec(dir.path());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("database: must be an object"));
}

}  // namespace
}  // namespace runbot
