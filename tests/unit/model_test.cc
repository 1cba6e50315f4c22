// The domain's naming rules.
#include "model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runbot {
namespace {

TEST(DatabaseNames, OnlyExactlyRunbotDigits) {
  EXPECT_EQ(job_database_name(12), "runbot_12");
  for (const char* ok : {"runbot_0", "runbot_12", "runbot_007", "runbot_99999999999999999999"})
    EXPECT_TRUE(is_job_database_name(ok)) << ok;
  for (const char* no : {"runbot_", "runbot_x", "runbot_12_backup", "Runbot_1", "runbot_-1",
                         " runbot_1", "runbot_1 ", "other", "runbot", "xrunbot_1", ""})
    EXPECT_FALSE(is_job_database_name(no)) << no;
}

}  // namespace
}  // namespace runbot
