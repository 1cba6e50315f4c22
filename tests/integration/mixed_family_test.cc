// End to end: the real binary on a family mixing git (server), hg (addons) and bzr (web).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "family.h"
#include "support/support.h"
#include "vcs_repos.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

class MixedFamily : public ::testing::Test {
 protected:
  TempDir tmp;
  GitRepo server{tmp / "server"};
  HgRepo addons{tmp / "addons"};
  BzrRepo web{tmp / "web"};
  fs::path state = tmp / "state";

  ~MixedFamily() override { runbot(state, {"clean"}); }

  std::string config() const {
    int base = 23000 + (getpid() % 2000) * 10;
    return fmt::format(
        "[runbot]\nnumber = 4\nworkers = 2\nnginx = \"include\"\nreload_command = \"true\"\n"
        "port_range = \"{}-{}\"\n\n"
        "[[project]]\nname = \"server\"\nremotes = [\"{}\"]\nbase_branches = [\"trunk\"]\n\n"
        "[[project]]\nname = \"addons\"\nvcs = \"hg\"\nremotes = [\"{}\"]\n"
        "base_branches = [\"trunk\"]\n\n"
        "[[project]]\nname = \"web\"\nvcs = \"bzr\"\nremotes = [\"{}\"]\n"
        "base_branches = [\"trunk\"]\n\n"
        "[build]\nsteps = [{{ name = \"test\", run = \"test -f server/S && test -f addons/A && "
        "test -f web/W\" }}]\n",
        base, base + 9, server.path().string(), addons.path().string(),
        (web.path() / "trunk").string());
  }
};

TEST_F(MixedFamily, GitHgAndBzrProjectsBuildTogether) {
  std::string server_rev = server.commit("trunk", "S", "s\n");
  std::string addons_trunk = addons.commit("trunk", "A", "a\n");
  std::string addons_feat = addons.commit("trunk-feat", "F", "f\n");
  std::string web_rev = web.commit("trunk", "W", "w\n");
  fs::create_directories(state);
  write_text(tmp / "runbot.toml", config());
  Cmd init = runbot(state, {"init", "--config", (tmp / "runbot.toml").string()});
  ASSERT_EQ(init.status, 0) << init.out << init.err;

  Cmd tick = runbot(state, {"tick"});
  ASSERT_EQ(tick.status, 0) << tick.out << tick.err;
  auto st = status_json(state);
  auto trunk = jobs_of(st, "trunk");
  auto feat = jobs_of(st, "trunk-feat");
  ASSERT_EQ(trunk.size(), 1u) << st.dump(1);
  ASSERT_EQ(feat.size(), 1u) << st.dump(1);
  EXPECT_EQ(st["jobs"].size(), 2u);
  auto revs = feat[0]["revisions"];
  EXPECT_EQ(revs["addons"]["rev"], addons_feat);
  EXPECT_EQ(revs["addons"]["branch"], "trunk-feat");
  EXPECT_EQ(revs["addons"]["fallback"], false);
  EXPECT_EQ(revs["server"]["rev"], server_rev);
  EXPECT_EQ(revs["server"]["fallback"], true);
  EXPECT_EQ(revs["web"]["rev"], web_rev);
  EXPECT_EQ(revs["web"]["branch"], "trunk");
  EXPECT_EQ(revs["web"]["fallback"], true);
  EXPECT_EQ(trunk[0]["revisions"]["addons"]["rev"], addons_trunk);

  ASSERT_TRUE(settle(state, 60));
  st = status_json(state);
  for (const auto& j : st["jobs"]) EXPECT_EQ(j["result"], "ok") << j.dump(1);

  std::string addons_new = addons.commit("trunk", "A", "a2\n");
  ASSERT_EQ(runbot(state, {"tick"}).status, 0);
  trunk = jobs_of(status_json(state), "trunk");
  ASSERT_EQ(trunk.size(), 2u);
  EXPECT_EQ(trunk[0]["reason"],
            "addons moved " + addons_trunk.substr(0, 7) + " -> " + addons_new.substr(0, 7));
  EXPECT_EQ(trunk[0]["revisions"]["addons"]["rev"], addons_new);
  EXPECT_EQ(jobs_of(status_json(state), "trunk-feat").size(), 1u);
  ASSERT_TRUE(settle(state, 60));
  EXPECT_EQ(jobs_of(status_json(state), "trunk")[0]["result"], "ok");
}

}  // namespace
}  // namespace runbot::test
