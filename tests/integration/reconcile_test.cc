// Reality against the DB (SPEC "Site and nginx", the reconciliation bullet; issue 14): what a
// crash, a lost WAL tail or a deleted runbot.db leaves behind is put right by the next ticks.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

std::set<int64_t> ids_of(const nlohmann::json& status) {
  std::set<int64_t> ids;
  for (const auto& j : status["jobs"]) ids.insert(j["id"].get<int64_t>());
  return ids;
}

TEST(Reconcile, JobIdsOfALostTransactionAreNeverHandedOutAgain) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper), false);
  Family f("", "steps = [{ name = \"test\", run = \"" + sleeper + "\" }]");
  // The DB as it was before the tick below (init closed it: no WAL).
  fs::copy_file(f.state / "runbot.db", f.tmp / "before.db");
  Cmd first = f.tick();
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  std::set<int64_t> launched = ids_of(f.status());
  ASSERT_FALSE(launched.empty());
  for (int64_t id : launched) ASSERT_TRUE(fs::exists(f.state / "jobs" / std::to_string(id)));
  const std::string job_json =
      read_text(f.state / "jobs" / std::to_string(*launched.begin()) / "job.json");

  // The WAL tail is lost: the DB no longer knows the jobs whose runners are building.
  for (const char* wal : {"runbot.db-wal", "runbot.db-shm"}) fs::remove(f.state / wal);
  fs::copy_file(f.tmp / "before.db", f.state / "runbot.db", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(f.status()["jobs"].empty());

  Cmd again = f.tick();
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  std::set<int64_t> now = ids_of(f.status());
  ASSERT_FALSE(now.empty());
  for (int64_t id : now)
    EXPECT_EQ(launched.count(id), 0u) << "job id " << id << " handed out twice\n" << again.out;
  EXPECT_GT(*now.begin(), *launched.rbegin());
  EXPECT_EQ(f.command({"build", "trunk"}).status, 0);
  for (int64_t id : ids_of(f.status())) EXPECT_EQ(launched.count(id), 0u) << id;
  // The first runner's folder was never given to another job.
  auto still = f.state / "jobs" / std::to_string(*launched.begin()) / "job.json";
  if (fs::exists(still)) {
    EXPECT_EQ(read_text(still), job_json);
  }
}

}  // namespace
}  // namespace runbot::test
