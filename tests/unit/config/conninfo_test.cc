// [database] dsn parsing: libpq's key=value and URI syntaxes, and what they refuse.
#include "config/conninfo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbot {
namespace {

using ::testing::HasSubstr;

TEST(DatabaseConninfo, KeyValues) {
  auto r = parse_conninfo(
      "  host=db.example port = 5433 user='a b' password='it\\'s' "
      "sslmode=require dbname=admin application_name=x\\ y");
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, std::string> want{
      {"host", "db.example"},     {"port", "5433"},       {"user", "a b"},
      {"password", "it's"},       {"sslmode", "require"}, {"dbname", "admin"},
      {"application_name", "x y"}};
  EXPECT_EQ(*r, want);
  EXPECT_TRUE(parse_conninfo("")->empty());
}

TEST(DatabaseConninfo, Uri) {
  auto r = parse_conninfo("postgresql://r%40x:p%2Fw@db1:5433,db2/admin%20db?sslmode=require");
  ASSERT_TRUE(r) << r.error().message;
  std::map<std::string, std::string> want{{"user", "r@x"},        {"password", "p/w"},
                                          {"host", "db1,db2"},    {"port", "5433,"},
                                          {"dbname", "admin db"}, {"sslmode", "require"}};
  EXPECT_EQ(*r, want);
  r = parse_conninfo("postgres://%2Fvar%2Frun%2Fpostgresql");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["host"], "/var/run/postgresql");
  r = parse_conninfo("postgresql://[::1]:5432/");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["host"], "::1");
  EXPECT_EQ((*r)["port"], "5432");
  EXPECT_EQ(r->count("dbname"), 0u);
}

TEST(DatabaseConninfo, Errors) {
  auto error = [](std::string_view dsn) {
    auto r = parse_conninfo(dsn);
    EXPECT_FALSE(r) << dsn;
    return r ? std::string{} : r.error().message;
  };
  EXPECT_THAT(error("host"), HasSubstr("missing \"=\" after 'host'"));
  EXPECT_THAT(error("user='abc"), HasSubstr("unterminated quoted value for 'user'"));
  EXPECT_THAT(error("keepalives=1"), HasSubstr("unsupported connection keyword 'keepalives'"));
  EXPECT_THAT(error("postgresql://h/db?nope=1"), HasSubstr("keyword 'nope'"));
  EXPECT_THAT(error("postgresql://h/db?sslmode"), HasSubstr("has no value"));
  EXPECT_THAT(error("postgresql://u%zz@h/"), HasSubstr("bad percent-encoding in the user"));
  EXPECT_THAT(error("postgresql://[::1/"), HasSubstr("unterminated [IPv6"));
}

}  // namespace
}  // namespace runbot
