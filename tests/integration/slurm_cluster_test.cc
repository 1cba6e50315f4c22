// The Slurm fixture itself: the cluster starts, runs a batch job to completion, and sees it.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/slurm.h"

namespace runbot::test {
namespace fs = std::filesystem;

namespace {

TEST(SlurmCluster, RunsABatchJobToCompletion) {
  RUNBOT_REQUIRE_SLURM(cluster);
  TempDir dir;
  fs::path out = dir / "out.txt";
  Cmd submit = cluster->client({"sbatch", "--parsable", "--job-name=runbot-fixture",
                                "--chdir=" + dir.path().string(), "--output=/dev/null", "--wrap",
                                "echo ran > " + out.string()});
  ASSERT_EQ(submit.status, 0) << submit.err;
  std::string id = submit.out.substr(0, submit.out.find_first_of(";\n"));
  ASSERT_FALSE(id.empty());
  // Bounded wait for the job to run (a missing file after the bound fails the test).
  for (int i = 0; i < 300 && !fs::exists(out); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(out)) << "the batch job never ran";
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "ran");
  Cmd q = cluster->client({"squeue", "-h", "-t", "all", "-j", id, "-o", "%j"});
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_NE(q.out.find("runbot-fixture"), std::string::npos) << q.out;
}

}  // namespace
}  // namespace runbot::test
