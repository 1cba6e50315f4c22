// The command table: every command has its help, its function and a lock; the help lists what
// dispatch accepts, and the aliases are the original runbot's.
#include "cli/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace runbot {
namespace {

using ::testing::HasSubstr;

TEST(Commands, EveryCommandIsCompleteAndFoundByName) {
  std::set<std::string> names;
  for (const Command& c : commands()) {
    EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
    EXPECT_NE(c.run, nullptr) << c.name;
    EXPECT_GT(std::string(c.summary).size(), 0u) << c.name;
    EXPECT_GT(std::string(c.description).size(), 0u) << c.name;
    EXPECT_EQ(find_command(c.name), &c);
  }
  EXPECT_EQ(find_command("frobnicate"), nullptr);
  EXPECT_EQ(names, (std::set<std::string>{"init", "tick", "run", "status", "build", "kill", "wake",
                                          "keep", "gc", "clean", "job-run", "errors"}));
}

TEST(Commands, StateChangingCommandsWaitForTheLockAndTickSkips) {
  for (const char* name : {"init", "build", "kill", "wake", "keep", "gc", "clean"})
    EXPECT_EQ(find_command(name)->lock, Lock::wait) << name;
  EXPECT_EQ(find_command("tick")->lock, Lock::skip_if_busy);
  EXPECT_EQ(find_command("status")->lock, Lock::none);
}

TEST(Commands, HelpListsVisibleCommandsInTableOrderAndTheAliases) {
  std::string help = commands_help();
  size_t at = 0;
  for (const Command& c : commands()) {
    size_t found = help.find(std::string("  ") + c.name + " ");
    if (c.hidden) {
      EXPECT_EQ(found, std::string::npos) << c.name;
      continue;
    }
    ASSERT_NE(found, std::string::npos) << c.name;
    EXPECT_GT(found, at) << c.name << " out of order";
    at = found;
  }
  EXPECT_THAT(help, HasSubstr("--init, --run, --clean"));
}

TEST(Commands, TickHelpGivesTheStagesInPipelineOrder) {
  std::string d = find_command("tick")->description;
  size_t at = 0;
  for (const char* stage :
       {"lock", "scan", "plan", "record", "reap", "launch", "limit", "gc", "publish", "unlock"}) {
    size_t found = d.find(stage, at);
    ASSERT_NE(found, std::string::npos) << stage << " missing or out of order in: " << d;
    at = found;
  }
}

}  // namespace
}  // namespace runbot
