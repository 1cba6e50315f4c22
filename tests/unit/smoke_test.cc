#include <gtest/gtest.h>

#include "util/clock.h"

TEST(Clock, Iso8601) { EXPECT_EQ(runbot::iso8601(0), ""); EXPECT_EQ(runbot::iso8601(1795521600), "2026-11-24T12:00:00Z"); }
