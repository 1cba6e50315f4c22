// JobFacts: one job as status.json, its page, its index cells and its group's page show it,
// typed. The one path from a DB row to every output: row -> job_facts() -> write_job() (JSON)
// or the views (site/view.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "site/json_writer.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

struct JobFacts {
  struct Revision {
    std::string project, branch, rev, remote;
    bool fallback = false;
    bool fork = false;  // `remote` is not the project's main (first) remote
  };
  struct Step {
    std::string name;
    std::optional<int64_t> exit;
    std::optional<double> seconds;
    int64_t errors = 0;
    int64_t warnings = 0;
    bool timed_out = false;
    std::string log;  // "jobs/<id>/logs/<name>.log"
  };
  struct Error {                               // SPEC "Build errors"
    std::string fingerprint, cls, step, text;  // text: one line
    std::string trace;                         // its whole text, when known (pages)
    int64_t line = 0;                          // in the step's log
  };
  int64_t id = 0;
  std::string group, state, result;  // result: "" while not known
  std::string group_page;            // group_page_path() of the group
  bool manual = false;
  bool pinned = false;
  std::string reason, note;
  std::string created_at, started_at, finished_at;  // ISO 8601, "" when not (yet) known
  std::optional<Time> created, started, finished;   // the same, as times
  std::vector<Revision> revisions;                  // one per project, by project name
  std::vector<Step> steps;
  std::optional<double> coverage;
  std::vector<Error> errors;    // the first ones (at most 20)
  int64_t error_count = 0;      // all of them (0 when unknown)
  bool explained = false;       // ko, and every error is known or flaky
  std::optional<int64_t> port;  // set while its instance is live
  std::string url;              // likewise
  bool collected = false;       // garbage-collected: its folder (logs, artifacts) is gone
  // Where it ran (SPEC "Executors"); kind "" while it never started (pending, skipped).
  std::string executor, executor_id, host;
};

// The facts of a row: its stored revisions parsed (throws DbError when they are not sound),
// its build details from the row, or from its folder's markers while it is building. Text
// fields are valid UTF-8 (invalid sequences replaced by U+FFFD, as status.json has them).
// Without `revisions`, they are left out (a group page's rows do not show them).
JobFacts job_facts(const Config& config, const Paths& paths, const JobRow& row,
                   bool revisions = true);

// The job's status.json object (SPEC "Site"), keys in SPEC's order. A revision's "remote" is
// given when it came from a fork (not its project's first remote): status.json stays small.
void write_job(JsonWriter& out, const JobFacts& job);
// The same as one compact line of text.
std::string job_line(const JobFacts& job);

}  // namespace runbot
