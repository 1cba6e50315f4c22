// The sandbox itself (SPEC "Untrusted code"): when it cannot be made the job is ko and the
// build never runs unconfined; kind = "none" runs unconfined, loudly. And displayed text: a
// branch named to fool the reader (bidi override, zero-width characters) is shown escaped.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(HostileSandbox, WithoutBwrapTheJobIsKoAndTheStepNeverRuns) {
  Family f("", "steps = [{ name = \"test\", run = 'touch \"$RUNBOT_SRC/ran\"' }]");
  only_trunk(f);
  f.launch.env["RUNBOT_BWRAP"] = "/nonexistent/bwrap";
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ko") << job.dump(2);
  ASSERT_TRUE(job["note"].is_string()) << job.dump(2);
  EXPECT_TRUE(job["note"].get<std::string>().starts_with("sandbox:")) << job.dump(2);
  EXPECT_FALSE(fs::exists(job_dir(f, job) / "src" / "ran")) << "the step ran unconfined";
}

// A fork's step probes the descriptors it was born with, looking for a way back to the runner
// (its gate, its pipes): the first step (made ahead, during the export), a later one and the
// live instance alike hold nothing but their standard streams.
TEST(HostileSandbox, StepsAndInstancesInheritNoDescriptorButTheirStandardStreams) {
  auto probe = [](const std::string& step) {
    return "{ name = \"" + step + "\", run = 'exec >\"$RUNBOT_SRC/fds-" + step +
           "\"; exec ls -1 /proc/self/fd' }";
  };
  // The live instance too (spawned detached, through the same child code).
  Family f("", "steps = [" + probe("first") + ", " + probe("second") +
                   "]\nrun = 'exec >\"$RUNBOT_SRC/fds-instance\"; ls -1 /proc/self/fd; "
                   "exec sleep 300'");
  only_trunk(f);
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ok") << job.dump(2);
  const fs::path src = job_dir(f, job) / "src";
  for (int i = 0; i < 250 && read_text(src / "fds-instance").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // 3 is ls's own listing of /proc/self/fd.
  for (const char* what : {"first", "second", "instance"}) {
    std::string fds = read_text(src / (std::string("fds-") + what));
    EXPECT_EQ(fds, "0\n1\n2\n3\n") << what << " holds descriptors it did not open";
  }
  EXPECT_EQ(f.command({"kill", std::to_string(job["id"].get<int64_t>())}).status, 0);
}

TEST(HostileSandbox, KindNoneSaysBuildsAreUnconfined) {
  Family f("", "steps = [{ name = \"test\", run = \"true\" }]", "[sandbox]\nkind = \"none\"\n");
  const fs::path config = f.tmp / "runbot.toml";
  fs::create_directories(f.tmp / "again");
  Cmd init = runbot(f.tmp / "again", {"init", "--config", config.string()});
  ASSERT_EQ(init.status, 0) << init.err;
  EXPECT_NE(lower(init.out + init.err).find("unconfined"), std::string::npos)
      << init.out << init.err;
  Cmd status = f.command({"status"});
  ASSERT_EQ(status.status, 0) << status.err;
  EXPECT_NE(lower(status.out + status.err).find("unconfined"), std::string::npos)
      << status.out << status.err;

  // The default (bwrap) says nothing of the kind.
  std::string text = read_text(config);
  text.replace(text.find("kind = \"none\""), 13, "kind = \"bwrap\"");
  write_text(f.tmp / "bwrap.toml", text);
  fs::create_directories(f.tmp / "confined");
  Cmd confined = runbot(f.tmp / "confined", {"init", "--config", (f.tmp / "bwrap.toml").string()});
  ASSERT_EQ(confined.status, 0) << confined.err;
  EXPECT_EQ(lower(confined.out + confined.err).find("unconfined"), std::string::npos)
      << confined.out << confined.err;
}

// Whether `text` holds `bytes` raw.
bool holds(const std::string& text, const std::string& bytes) {
  return text.find(bytes) != std::string::npos;
}

TEST(HostileText, BidiAndZeroWidthBranchNamesAreShownEscaped) {
  Family f;
  only_trunk(f);
  const std::string rlo = "\u202e", zwsp = "\u200b";
  // "trunk-<RLO>txt.exe" reads as "trunk-exe.txt"; "trunk<ZWSP>" looks like trunk itself.
  f.addons->commit("trunk-" + rlo + "txt.exe", "f.txt", "1", "fix " + rlo + "gnp.exe");
  f.addons->commit("trunk" + zwsp, "g.txt", "2");
  ASSERT_TRUE(f.settle(60));
  auto st = f.status();
  std::vector<fs::path> pages{f.state / "www" / "index.html"};
  for (const auto& j : st["jobs"])
    pages.push_back(f.state / "www" / "job" / fmt::format("{}.html", j["id"].get<int64_t>()));
  ASSERT_GE(pages.size(), 3u) << st.dump(2);
  for (const auto& page : pages) {
    std::string html = read_text(page);
    ASSERT_FALSE(html.empty()) << page;
    EXPECT_FALSE(holds(html, rlo)) << page << " shows a raw U+202E";
    EXPECT_FALSE(holds(html, zwsp)) << page << " shows a raw U+200B";
  }
  std::string index = lower(read_text(pages[0]));
  EXPECT_TRUE(holds(index, "202e") || holds(index, "&#8238;")) << "the bidi override is not shown";
  EXPECT_TRUE(holds(index, "200b") || holds(index, "&#8203;"))
      << "the zero-width space is not shown";
}

}  // namespace
}  // namespace runbot::test
