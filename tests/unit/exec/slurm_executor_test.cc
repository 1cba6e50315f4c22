// The Slurm executor's pure parts: squeue's output, and what each Slurm state means for a
// runbot job (SPEC "Executors": queued = building, an end without result = ko).
#include "exec/slurm_executor.h"

#include <gtest/gtest.h>

#include <set>

namespace runbot {
namespace {

TEST(SlurmSqueue, ParsesEveryFieldAndKeepsBarsInTheComment) {
  auto jobs = parse_squeue(
      "12|runbot-7|RUNNING|node1|/srv/runbot\n"
      "13|runbot-8|PENDING||/srv/a|b\n"
      "garbage line\n"
      "x|runbot-9|RUNNING|node1|/srv/runbot\n"
      "14|runbot-9|NODE_FAIL|(null)|/srv/runbot\n");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].id, "12");
  EXPECT_EQ(jobs[0].name, "runbot-7");
  EXPECT_EQ(jobs[0].state, "RUNNING");
  EXPECT_EQ(jobs[0].node, "node1");
  EXPECT_EQ(jobs[0].comment, "/srv/runbot");
  EXPECT_EQ(jobs[1].node, "");
  EXPECT_EQ(jobs[1].comment, "/srv/a|b");
  EXPECT_EQ(jobs[2].node, "");  // "(null)": not on a node
}

TEST(SlurmSqueue, StatesMapToPhases) {
  EXPECT_EQ(slurm_phase("PENDING"), SlurmPhase::queued);
  EXPECT_EQ(slurm_phase("RUNNING"), SlurmPhase::running);
  EXPECT_EQ(slurm_phase("COMPLETING"), SlurmPhase::running);
  EXPECT_EQ(slurm_phase("COMPLETED"), SlurmPhase::completed);
  for (const char* s : {"CANCELLED", "FAILED", "NODE_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "PREEMPTED",
                        "BOOT_FAIL", "DEADLINE"})
    EXPECT_EQ(slurm_phase(s), SlurmPhase::failed) << s;
}

// SPEC "Executors": the instance runs on a port of port_range free on its node.
TEST(NodePort, KeepsTheTicksChoiceIfFreeElseTakesTheLowestFreeOfTheRange) {
  std::set<int> taken = {8100, 8101};
  auto bindable = [&](int p) { return !taken.count(p); };
  EXPECT_EQ(node_port(8105, 8100, 8109, bindable), 8105);
  EXPECT_EQ(node_port(8100, 8100, 8109, bindable), 8102);
  taken = {8100, 8101, 8102};
  EXPECT_EQ(node_port(8100, 8100, 8102, bindable), 0);
}

}  // namespace
}  // namespace runbot
