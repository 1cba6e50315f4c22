// Shared by db_test.cc and db_jobs_test.cc: opening a database in a TempDir, a sample job.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "state/db.h"
#include "support/support.h"

namespace runbot::db_test {

inline std::unique_ptr<Db> open_in(const test::TempDir& dir) { return Db::open(dir / "runbot.db"); }

// A job with every field set to a non-default value.
inline Job sample_job(int64_t id, const std::string& group = "trunk") {
  Job j;
  j.id = id;
  j.group = group;
  j.revisions = {{"addons", "5d6e7f8", "trunk-fix-42", "/repos/addons", false},
                 {"server", "9a8b7c6", "trunk", "/repos/server", true}};
  j.fingerprint = "addons=5d6e7f8;server=9a8b7c6";
  j.reason = "new revisions";
  j.manual = true;
  j.pinned = true;
  j.state = JobState::running;
  j.result = JobResult::warn;
  j.note = "timeout in test";
  j.created_at = 1000;
  j.started_at = 1001;
  j.finished_at = 1002;
  j.instance_started_at = 1003;
  j.port = 2345;
  return j;
}

}  // namespace runbot::db_test
