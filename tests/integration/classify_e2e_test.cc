// Logs that tried to hide their errors or stall the runner, through the real binary: each
// branch's step prints an attack and exits 0, so only classification can make it ko.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "family.h"

namespace runbot::test {
namespace {

// The step runs the branch's own attack.sh (base branches have none and pass).
constexpr const char* kBuild =
    "steps = [{ name = \"test\", run = \"if [ -f server/attack.sh ]; then sh server/attack.sh; "
    "fi; exit 0\" }]\n";

std::string result_of(const nlohmann::json& status, const std::string& group) {
  auto jobs = jobs_of(status, group);
  if (jobs.empty() || jobs[0]["result"].is_null()) return "";
  return jobs[0]["result"];
}

TEST(ClassifyE2E, ErrorsHiddenByLongOrCarriageReturnLinesAreFound) {
  Family f("", kBuild);  // the default error_pattern, "ERROR|Traceback"
  // A 10 KiB progress line redrawn with \r, then ERROR on the same physical line: the old
  // runner cut lines at 4 KiB and called this ok.
  f.server->commit("trunk-progress", "attack.sh",
                   "i=0; while [ $i -lt 1000 ]; do printf '\\r%3d%% [######]' $((i % 100)); "
                   "i=$((i+1)); done; printf '\\rERROR boom\\n'\n");
  // One 5 MiB line with ERROR at its very end.
  f.server->commit("trunk-long", "attack.sh",
                   "head -c 5242880 /dev/zero | tr '\\0' x; echo ' ERROR at the end'\n");
  f.server->commit("trunk-clean", "attack.sh",
                   "i=0; while [ $i -lt 1000 ]; do printf '\\r%3d%%' $((i % 100)); i=$((i+1)); "
                   "done; head -c 5242880 /dev/zero | tr '\\0' x; echo ' no error here'\n");
  ASSERT_TRUE(f.settle(90));
  auto st = f.status();
  EXPECT_EQ(result_of(st, "trunk-progress"), "ko") << st.dump();
  EXPECT_EQ(result_of(st, "trunk-long"), "ko");
  EXPECT_EQ(result_of(st, "trunk-clean"), "ok");
  EXPECT_EQ(result_of(st, "trunk"), "ok");
}

TEST(ClassifyE2E, CatastrophicBacktrackingPatternCannotStallTheRunner) {
  // With std::regex, "(a+)+$" on 'a's then 'b' backtracks exponentially (40 'a' take hours;
  // 100,000 overflow the stack); RE2 is linear, so the job finishes like any other.
  Family f("", std::string(kBuild) + "error_pattern = \"(a+)+$\"\n");
  f.server->commit("trunk-redos", "attack.sh",
                   "head -c 100000 /dev/zero | tr '\\0' a; echo b; echo "
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab; "
                   "head -c 100000 /dev/zero | tr '\\0' a; echo\n");
  ASSERT_TRUE(f.settle(90));
  auto st = f.status();
  auto jobs = jobs_of(st, "trunk-redos");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["result"], "ko") << jobs[0].dump();  // the second line matches
  EXPECT_EQ(jobs[0]["steps"][0]["errors"], 1) << jobs[0].dump();
}

}  // namespace
}  // namespace runbot::test
