// Planning, part 1: how heads become groups (grouping, remotes, fallback, age, hostile names).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tick/plan.h"
#include "unit/tick/plan_builder.h"

namespace runbot {
namespace {

using namespace plan_test;

// These tests default to one base branch, trunk.
struct GroupsBuilder : PlanBuilder {
  GroupsBuilder() : PlanBuilder({"trunk"}) {}
};

const Group& group(const Plan& plan, const std::string& name) {
  for (const Group& g : plan.groups)
    if (g.name == name) return g;
  ADD_FAILURE() << "no group " << name;
  static const Group none;
  return none;
}

std::vector<std::string> names(const Plan& plan) {
  std::vector<std::string> out;
  for (const Group& g : plan.groups) out.push_back(g.name);
  return out;
}

std::vector<std::string> created(const Plan& plan) {
  std::vector<std::string> out;
  for (const JobDecision& d : plan.create) out.push_back(d.group);
  return out;
}

TEST(PlanMatchingBase, LongestBaseFollowedByDash) {
  EXPECT_EQ(matching_base("trunk-fix-42", {"trunk", "6.0"}), "trunk");
  EXPECT_EQ(matching_base("6.0-fix", {"trunk", "6.0"}), "6.0");
  EXPECT_EQ(matching_base("saas-6-fix", {"saas", "saas-6"}), "saas-6");
  EXPECT_EQ(matching_base("saas-6-fix", {"saas-6", "saas"}), "saas-6");
  EXPECT_EQ(matching_base("saas-7-fix", {"saas", "saas-6"}), "saas");
  EXPECT_EQ(matching_base("trunk", {"trunk", "6.0"}), "trunk");
}

TEST(PlanMatchingBase, NoMatchIsEmpty) {
  EXPECT_EQ(matching_base("trunkfoo", {"trunk", "6.0"}), "");
  EXPECT_EQ(matching_base("trun", {"trunk"}), "");
  EXPECT_EQ(matching_base("6x0-fix", {"6.0"}), "");  // '.' is a byte, not a pattern
  EXPECT_EQ(matching_base("Trunk-fix", {"trunk"}), "");
  EXPECT_EQ(matching_base("trunk-fix", {}), "");
}

TEST(PlanFingerprint, SortedProjectRevPairs) {
  std::vector<Revision> revs{{"server", "bbb", "trunk", "/r", false},
                             {"addons", "aaa", "x", "/r", true},
                             {"web", "ccc", "trunk", "/r", false}};
  EXPECT_EQ(fingerprint_of(revs), "addons=aaa;server=bbb;web=ccc");
  std::reverse(revs.begin(), revs.end());
  EXPECT_EQ(fingerprint_of(revs), "addons=aaa;server=bbb;web=ccc");
  EXPECT_EQ(fingerprint_of({}), "");
  // Branch, remote and fallback are not part of the identity.
  EXPECT_EQ(fingerprint_of({{"a", "1", "x", "/r1", false}}),
            fingerprint_of({{"a", "1", "y", "/r2", true}}));
}

TEST(PlanGroups, SameNameAcrossThreeProjects) {
  GroupsBuilder b;
  b.project("server").project("addons").project("web");
  for (auto p : {"server", "addons", "web"}) b.head(p, "trunk", std::string("1") + p[0]);
  b.head("web", "trunk-x", "2a");
  b.head("server", "trunk-x", "2b");
  b.head("addons", "trunk-x", "2c");
  Plan plan = make_plan(b.in);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"trunk", "trunk-x"}));
  const Group& g = group(plan, "trunk-x");
  ASSERT_EQ(g.revisions.size(), 3u);
  EXPECT_EQ(g.revisions[0].project, "server");  // config order, not name order
  EXPECT_EQ(g.revisions[0].rev, sha("2b"));
  EXPECT_EQ(g.revisions[1].project, "addons");
  EXPECT_EQ(g.revisions[1].rev, sha("2c"));
  EXPECT_EQ(g.revisions[2].project, "web");
  EXPECT_EQ(g.revisions[2].rev, sha("2a"));
  for (const Revision& r : g.revisions) {
    EXPECT_EQ(r.branch, "trunk-x");
    EXPECT_FALSE(r.fallback);
  }
  EXPECT_TRUE(g.warnings.empty());
  EXPECT_EQ(g.fingerprint, "addons=" + sha("2c") + ";server=" + sha("2b") + ";web=" + sha("2a"));
  EXPECT_FALSE(g.is_base);
  EXPECT_EQ(g.base, "trunk");
  EXPECT_TRUE(group(plan, "trunk").is_base);
  EXPECT_EQ(group(plan, "trunk").base, "trunk");
}

TEST(PlanGroups, IgnoresUnconfiguredProjectsAndRemotes) {
  GroupsBuilder b;
  b.project("server");
  b.head("server", "trunk", "1");
  b.head("stranger", "from-stranger", "2");
  b.head("server", "from-unknown-remote", "3", "/elsewhere");
  Plan plan = make_plan(b.in);
  EXPECT_EQ(names(plan), std::vector<std::string>{"trunk"});
}

TEST(PlanGroups, FirstRemoteWinsAndShadowedIsWarned) {
  GroupsBuilder b;
  b.project("server").project("addons");
  b.in.projects[1].remotes = {"/r/addons", "/fork/addons", "/other/addons"};
  b.head("server", "trunk", "1");
  b.head("addons", "trunk", "2");
  // Input order must not matter: the forks come first.
  b.head("addons", "trunk-x", "3c", "/other/addons");
  b.head("addons", "trunk-x", "3b", "/fork/addons");
  b.head("addons", "trunk-x", "3a", "/r/addons");
  b.head("addons", "trunk-y", "4", "/fork/addons");
  Plan plan = make_plan(b.in);
  const Group& x = group(plan, "trunk-x");
  ASSERT_EQ(x.revisions.size(), 2u);
  EXPECT_EQ(x.revisions[1].rev, sha("3a"));
  EXPECT_EQ(x.revisions[1].remote, "/r/addons");
  EXPECT_EQ(x.warnings,
            (std::vector<std::string>{"addons: trunk-x from /fork/addons shadowed by /r/addons",
                                      "addons: trunk-x from /other/addons shadowed by /r/addons",
                                      "server: no branch trunk-x, using trunk"}));
  const Group& y = group(plan, "trunk-y");
  ASSERT_EQ(y.revisions.size(), 2u);
  EXPECT_EQ(y.revisions[1].remote, "/fork/addons");  // only holder: no shadow
  EXPECT_EQ(y.warnings, std::vector<std::string>{"server: no branch trunk-y, using trunk"});
}

TEST(PlanFallback, LongestMatchingBase) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0", "saas", "saas-6"});
  b.project("addons", {"trunk", "6.0", "saas", "saas-6"});
  for (auto base : {"trunk", "6.0", "saas", "saas-6"}) {
    b.head("server", base, std::string("5") + base);
    b.head("addons", base, std::string("a") + base);
  }
  b.head("addons", "trunk-fix-42", "f1");
  b.head("addons", "saas-6-fix", "f2");
  Plan plan = make_plan(b.in);

  const Group& fix = group(plan, "trunk-fix-42");
  ASSERT_EQ(fix.revisions.size(), 2u);
  EXPECT_EQ(fix.revisions[0].branch, "trunk");
  EXPECT_EQ(fix.revisions[0].rev, sha("5trunk"));
  EXPECT_TRUE(fix.revisions[0].fallback);
  EXPECT_FALSE(fix.revisions[1].fallback);
  EXPECT_EQ(fix.base, "trunk");
  EXPECT_EQ(fix.warnings, std::vector<std::string>{"server: no branch trunk-fix-42, using trunk"});

  const Group& saas = group(plan, "saas-6-fix");
  ASSERT_EQ(saas.revisions.size(), 2u);
  EXPECT_EQ(saas.revisions[0].branch, "saas-6");
  EXPECT_EQ(saas.revisions[0].rev, sha("5saas-6"));
  EXPECT_EQ(saas.base, "saas-6");
  EXPECT_EQ(saas.warnings, std::vector<std::string>{"server: no branch saas-6-fix, using saas-6"});
}

TEST(PlanFallback, NoMatchingBaseIsWrongMatching) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0"}).project("addons", {"6.0", "trunk"});
  for (auto p : {"server", "addons"}) {
    b.head(p, "trunk", "1");
    b.head(p, "6.0", "6");
  }
  b.head("web", "x", "0");  // unconfigured, ignored
  b.head("addons", "trunkfoo", "f");
  Plan plan = make_plan(b.in);
  const Group& g = group(plan, "trunkfoo");
  ASSERT_EQ(g.revisions.size(), 2u);
  EXPECT_EQ(g.revisions[0].branch, "trunk");  // server's first base
  EXPECT_TRUE(g.revisions[0].fallback);
  EXPECT_EQ(g.base, "trunk");
  EXPECT_EQ(g.warnings,
            std::vector<std::string>{
                "server: no base branch matches trunkfoo, using trunk (wrong matching)"});
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "6.0", "trunkfoo"}));
}

TEST(PlanFallback, RequiredProjectWithoutFallbackMakesGroupUnbuildable) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0"}).project("addons", {"trunk", "6.0"});
  b.head("server", "trunk", "1");  // server has no 6.0
  b.head("addons", "trunk", "2");
  b.head("addons", "6.0", "3");
  b.head("addons", "6.0-fix", "4");
  b.head("addons", "weird", "5");  // matches no base: server uses its first base, trunk
  Plan plan = make_plan(b.in);
  const Group& g = group(plan, "6.0");
  EXPECT_TRUE(g.is_base);
  EXPECT_TRUE(g.revisions.empty());
  EXPECT_EQ(g.fingerprint, "");
  EXPECT_TRUE(g.warnings.empty());
  EXPECT_TRUE(group(plan, "6.0-fix").revisions.empty());
  EXPECT_EQ(group(plan, "6.0-fix").base, "6.0");
  EXPECT_EQ(plan.notes,
            (std::vector<std::string>{
                "6.0: server has no branch 6.0 and no base branch to fall back to",
                "6.0-fix: server has no branch 6.0-fix and no base branch to fall back to"}));
  EXPECT_EQ(group(plan, "weird").revisions.size(), 2u);
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "weird"}));

  // Wrong matching onto a base the project lacks: warned, then unbuildable.
  b.in.projects[0].base_branches = {"6.0", "trunk"};
  plan = make_plan(b.in);
  EXPECT_TRUE(group(plan, "weird").revisions.empty());
  EXPECT_EQ(
      group(plan, "weird").warnings,
      std::vector<std::string>{"server: no base branch matches weird, using 6.0 (wrong matching)"});
  EXPECT_EQ(created(plan), std::vector<std::string>{"trunk"});

  b.in.projects[0].base_branches = {};  // no base at all: same verdict, no wrong matching
  plan = make_plan(b.in);
  EXPECT_TRUE(group(plan, "weird").revisions.empty());
  EXPECT_TRUE(group(plan, "weird").warnings.empty());
  EXPECT_EQ(plan.notes.back(),
            "weird: server has no branch weird and no base branch to fall back to");
  EXPECT_EQ(created(plan), std::vector<std::string>{"trunk"});
}

TEST(PlanFallback, OptionalProjectIsOmitted) {
  GroupsBuilder b;
  b.project("server").project("extra", {"trunk"}, /*required=*/false);
  b.head("server", "trunk", "1");
  b.head("server", "trunk-x", "2");
  b.head("extra", "other", "3");  // extra has no trunk
  Plan plan = make_plan(b.in);
  const Group& g = group(plan, "trunk-x");
  ASSERT_EQ(g.revisions.size(), 1u);
  EXPECT_EQ(g.revisions[0].project, "server");
  EXPECT_EQ(g.fingerprint, "server=" + sha("2"));
  EXPECT_EQ(g.warnings, std::vector<std::string>{"extra: no branch trunk-x, not built (optional)"});
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "other", "trunk-x"}));
}

TEST(PlanAge, OldFeatureGroupIgnoredOldBaseBuilt) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0"}).project("addons", {"trunk", "6.0"});
  b.head("server", "6.0", "60").commit_time = kNow - 400 * kDay;  // old base: still built
  b.head("addons", "6.0", "61").commit_time = kNow - 400 * kDay;
  b.head("server", "trunk", "1").commit_time = kNow - 400 * kDay;
  b.head("addons", "trunk", "2").commit_time = kNow;  // fresh fallback does not rescue old-x
  b.head("addons", "old-x", "3").commit_time = kNow - 31 * kDay;
  b.head("server", "new-x", "4").commit_time = kNow - 31 * kDay;
  b.head("addons", "new-x", "5").commit_time = kNow - 29 * kDay;  // newest own counts
  Plan plan = make_plan(b.in);
  EXPECT_TRUE(group(plan, "old-x").too_old);
  EXPECT_FALSE(group(plan, "old-x").revisions.empty());  // listed and resolved
  EXPECT_FALSE(group(plan, "new-x").too_old);
  EXPECT_FALSE(group(plan, "6.0").too_old);
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "6.0", "new-x"}));
  EXPECT_EQ(plan.notes,
            std::vector<std::string>{"old-x: newest commit older than 30 days, ignored"});

  b.in.max_age_days = 0;
  plan = make_plan(b.in);
  EXPECT_FALSE(group(plan, "old-x").too_old);
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "6.0", "new-x", "old-x"}));
  EXPECT_TRUE(plan.notes.empty());
}

TEST(PlanGroups, KnownGroupWithoutBranchesIsDeleted) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0"});
  b.head("server", "trunk", "1");
  b.in.known_groups = {"trunk", "trunk-gone", "6.0", "a-gone"};
  Plan plan = make_plan(b.in);
  EXPECT_EQ(names(plan), (std::vector<std::string>{"6.0", "a-gone", "trunk", "trunk-gone"}));
  const Group& g = group(plan, "trunk-gone");
  EXPECT_TRUE(g.deleted);
  EXPECT_TRUE(g.revisions.empty());
  EXPECT_EQ(g.fingerprint, "");
  EXPECT_EQ(g.base, "trunk");
  EXPECT_TRUE(group(plan, "6.0").deleted);
  EXPECT_TRUE(group(plan, "6.0").is_base);
  EXPECT_FALSE(group(plan, "trunk").deleted);
  EXPECT_EQ(created(plan), std::vector<std::string>{"trunk"});
  EXPECT_EQ(plan.notes,
            (std::vector<std::string>{"6.0: every branch deleted, group ended",
                                      "a-gone: every branch deleted, group ended",
                                      "trunk-gone: every branch deleted, group ended"}));
}

TEST(PlanGroups, HostileNamesAreOpaqueBytes) {
  const std::vector<std::string> hostile{"<img src=x onerror=alert(1)>",
                                         "x<img src=x onerror=alert(1)>",
                                         "$(touch pwned)",
                                         "-rf",
                                         "--upload-pack=evil",
                                         "a/../../b",
                                         "fix-\xc3\xa9-\xc3\x9f-\xe6\x97\xa5\xe6\x9c\xac",
                                         " lead and trail ",
                                         "it's \"quoted\"",
                                         "trunk-; rm -rf /"};
  GroupsBuilder b;
  b.project("server").project("addons");
  b.head("server", "trunk", "1");
  b.head("addons", "trunk", "2");
  for (const std::string& name : hostile) {
    b.head("server", name, "3");
    b.head("addons", name, "4");
  }
  b.head("addons", "trunk-x", "5");
  Plan plan = make_plan(b.in);
  ASSERT_EQ(plan.groups.size(), hostile.size() + 2);
  for (const std::string& name : hostile) {
    const Group& g = group(plan, name);
    EXPECT_EQ(g.name, name);
    ASSERT_EQ(g.revisions.size(), 2u) << name;
    EXPECT_EQ(g.revisions[0].branch, name);
    EXPECT_EQ(g.revisions[1].branch, name);
    auto it = std::find_if(plan.create.begin(), plan.create.end(),
                           [&](const JobDecision& d) { return d.group == name; });
    ASSERT_NE(it, plan.create.end()) << name;
    EXPECT_EQ(it->reason, "new group");
  }
  EXPECT_EQ(group(plan, "trunk-; rm -rf /").base, "trunk");
  EXPECT_EQ(group(plan, "trunk-; rm -rf /").warnings, std::vector<std::string>{});

  // A hostile name as a fallback target shows up byte-exact in the warnings.
  GroupsBuilder c;
  c.project("server", {"$(touch pwned)"}).project("addons", {"$(touch pwned)"});
  c.head("server", "$(touch pwned)", "1");
  c.head("addons", "$(touch pwned)", "2");
  c.head("addons", "$(touch pwned)-<b>", "3");
  plan = make_plan(c.in);
  EXPECT_EQ(group(plan, "$(touch pwned)-<b>").warnings,
            std::vector<std::string>{"server: no branch $(touch pwned)-<b>, using $(touch pwned)"});
  EXPECT_EQ(created(plan), (std::vector<std::string>{"$(touch pwned)", "$(touch pwned)-<b>"}));
}

std::string dump(const Plan& plan) {
  std::string s;
  for (const Group& g : plan.groups) {
    s += "G " + g.name + "|" + g.base + "|" + std::to_string(g.is_base) +
         std::to_string(g.deleted) + std::to_string(g.too_old) + "|" + g.fingerprint + "|" +
         std::to_string(g.changed_at) + "\n";
    for (const Revision& r : g.revisions)
      s += " R " + r.project + r.rev + r.branch + r.remote + std::to_string(r.fallback) + "\n";
    for (const std::string& w : g.warnings) s += " W " + w + "\n";
  }
  for (const JobDecision& d : plan.create) s += "C " + d.group + "|" + d.reason + "\n";
  for (const SkipDecision& d : plan.skip) s += "S " + std::to_string(d.job_id) + "\n";
  for (const std::string& n : plan.notes) s += "N " + n + "\n";
  return s;
}

TEST(PlanDeterminism, ShuffledHeadsGiveTheSamePlan) {
  GroupsBuilder b;
  b.project("server", {"trunk", "6.0"}).project("addons", {"trunk", "6.0"});
  b.project("web", {"6.0"}, false);
  b.in.projects[1].remotes.push_back("/fork/addons");
  b.in.max_age_days = 30;
  int n = 0;
  for (auto p : {"server", "addons", "web"})
    for (auto branch : {"trunk", "6.0", "trunk-a", "6.0-b", "zz", "old", "\xe6\x97\xa5"}) {
      BranchHead& h = b.head(p, branch, std::to_string(++n));
      h.seen_at = kNow - n * 7;
      if (std::string(branch) == "old") h.commit_time = kNow - 90 * kDay;
    }
  b.head("addons", "trunk-a", "99", "/fork/addons");
  b.head("addons", "fork-only", "98", "/fork/addons");
  b.head("addons", "zz", "97", "/r/addons");  // duplicate of a head: still deterministic
  b.in.known_groups = {"gone", "trunk"};
  b.in.manual = {"zz", "gone"};
  const std::string expected = dump(make_plan(b.in));
  EXPECT_NE(expected.find("shadowed by"), std::string::npos);
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(b.in.heads.begin(), b.in.heads.end(), rng);
    std::shuffle(b.in.known_groups.begin(), b.in.known_groups.end(), rng);
    ASSERT_EQ(dump(make_plan(b.in)), expected) << "shuffle " << i;
  }
}

}  // namespace
}  // namespace runbot
