// A runbot.db seeded like a big user's: branches of 3 projects, groups, a long job history.
#pragma once
#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "bench_util.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot::bench {

struct SeededState {
  std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
  Paths paths{dir->path()};
  Config config = big_config();
  std::unique_ptr<Db> db;
  std::vector<BranchHead> heads;
};

// `branches` per project (3 x branches heads), groups for every name, `jobs` past jobs over
// `groups` groups (finished ones with their build details in the row, as reap leaves them).
inline SeededState seeded_state(size_t branches, size_t groups, size_t jobs) {
  SeededState s;
  s.db = Db::open(s.paths.db());
  s.heads = big_heads(s.config, branches, 42);
  std::vector<std::string> names = group_names(groups);
  std::vector<Job> history = big_history(names, jobs, 7);
  {
    Db::Transaction tx(*s.db);
    std::map<std::pair<std::string, std::string>, std::vector<BranchHead>> by_remote;
    for (const BranchHead& h : s.heads) by_remote[{h.project, h.remote}].push_back(h);
    for (auto& [key, heads] : by_remote) {
      s.db->replace_branches(key.first, key.second, heads, kNow - 86400);
      s.db->set_remote_status(RemoteStatus{key.first, key.second, true, "", kNow - 60});
    }
    for (const std::string& name : names) {
      bool base = std::find(kBases.begin(), kBases.end(), name) != kBases.end();
      s.db->upsert_group(GroupRecord{name, base ? name : "trunk", base, false,
                                     base ? std::vector<std::string>{}
                                          : std::vector<std::string>{"web: no branch, using trunk"},
                                     kNow - 86400 * 100, kNow - 3600});
    }
    for (const Job& j : history) s.db->insert_job(j);
    s.db->raise_next_job_id(static_cast<int64_t>(jobs) + 1);
    // Retention has run: only the newest 5 of each group still have a folder.
    for (int64_t id : s.db->jobs_to_collect(5)) s.db->mark_collected(id);
    tx.commit();
  }
  return s;
}

}  // namespace runbot::bench
