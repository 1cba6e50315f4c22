#include "util/clock.h"

#include <gtest/gtest.h>

namespace runbot {
namespace {

TEST(Clock, Iso8601) {
  EXPECT_EQ(iso8601(0), "");
  EXPECT_EQ(iso8601(1795521600), "2026-11-24T12:00:00Z");
  EXPECT_EQ(parse_iso8601("2026-11-24T12:00:00Z"), 1795521600);
  EXPECT_EQ(parse_iso8601("2026-11-24 12:00"), std::nullopt);
}

}  // namespace
}  // namespace runbot
