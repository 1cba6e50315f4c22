// A state dir with a real runbot.db for site tests: groups and jobs recorded the way the tick
// records them, and publish() the way tick/publish calls publish_site (what changed since the
// previous publish; everything the first time).
#pragma once
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "site/site.h"
#include "state/db.h"
#include "support/support.h"
#include "util/clock.h"

namespace runbot::test {

constexpr Time kNow = 1795000000;  // 2026-11-19T...

class SiteFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("RUNBOT_SHARE", RUNBOT_TEST_SHARE, 1);
    paths.root = dir.path();
    db = Db::open(paths.db());
    config.build.artifacts = {"coverage-html"};
  }

  // A job as the runbot records it: one install step once it started; finished jobs have
  // their result, running ones a port.
  static Job make_job(int64_t id, const std::string& group, JobState state,
                      std::optional<JobResult> result, Time created) {
    Job j;
    j.id = id;
    j.group = group;
    j.revisions = {{"server", "0123456789abcdef", group, "/srv/server.git", false}};
    j.fingerprint = fmt::format("server={}", id);
    j.reason = "new branch";
    j.state = state;
    j.result = result;
    j.created_at = created;
    j.started_at = state == JobState::pending ? 0 : created + 10;
    j.finished_at = result ? created + 75 : 0;
    if (state != JobState::pending)
      j.details = nlohmann::json{{"steps",
                                  {{{"name", "install"},
                                    {"exit", 0},
                                    {"seconds", 1.5},
                                    {"errors", 0},
                                    {"warnings", 0},
                                    {"timed_out", false},
                                    {"log", fmt::format("jobs/{}/logs/install.log", id)}}}},
                                 {"coverage", nullptr},
                                 {"artifacts", nlohmann::json::array()}}
                      .dump();
    return j;
  }

  void add_group(const std::string& name, bool is_base = false, bool deleted = false,
                 std::vector<std::string> warnings = {}, Time activity = kNow) {
    db->upsert_group({name, "trunk", is_base, deleted, std::move(warnings), kNow - 9000, activity});
  }

  // Publishes what changed since the previous call (everything the first time, or with
  // `full`), slice after slice until a full render is complete.
  PublishResult publish(Time now = kNow, bool full = false) {
    std::set<int64_t> changed;
    bool first = published_change < 0 || full;
    if (!first)
      for (int64_t id : db->jobs_changed_since(published_change - 1)) changed.insert(id);
    int64_t change = db->change_count();
    PublishResult total;
    for (int slice = 0; slice < 1000; ++slice) {
      auto r = publish_site(config, paths, *db, now, first && slice == 0 ? nullptr : &changed,
                            {Sync::later, budget});
      EXPECT_TRUE(r) << r.error().message;
      if (!r) break;
      total.written.insert(total.written.end(), r->written.begin(), r->written.end());
      total.removed.insert(total.removed.end(), r->removed.begin(), r->removed.end());
      ++slices;
      if (r->complete) break;
      changed.clear();
    }
    published_change = change;
    return total;
  }
  std::string www(const std::string& rel) { return read_text(paths.www() / rel); }
  nlohmann::json published() { return nlohmann::json::parse(www("status.json")); }

  TempDir dir;
  Paths paths;
  Config config;
  std::unique_ptr<Db> db;
  int64_t published_change = -1;
  int64_t budget = 20000;
  int slices = 0;  // publish_site calls so far
};

inline bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

inline size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace runbot::test
