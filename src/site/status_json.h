// status.json (SPEC "Site"): the document as a source read row by row from the DB, each job's
// line, and the writer that streams them.
#pragma once
#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "site/job_facts.h"
#include "state/db.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// The status.json document (SPEC "Site") in parts, so that it can be published without
// holding the whole history in memory: the small parts as JSON, the jobs as a stream.
struct StatusSource {
  using JobCallback = std::function<Status(nlohmann::json&& job)>;
  nlohmann::json next_job_id;                       // an integer, or null
  nlohmann::json groups = nlohmann::json::array();  // "jobs": their ids, newest first
  nlohmann::json remotes = nlohmann::json::array();
  // Calls `each` with every job object, newest first; stops at, and returns, the first error.
  std::function<Status(const JobCallback& each)> for_each_job;
  // Sources read from the DB also give the rows (same order), and how a row becomes its
  // status.json line and its facts: the costly part, which a publisher can then do on other
  // threads. for_each_job's objects are those lines, parsed.
  struct Row {
    Job job;                // without its revisions...
    std::string revisions;  // ...which are still the stored text
  };
  struct Published {
    std::string line;  // the job's status.json object, compact, keys sorted
    JobFacts facts;
  };
  using RowCallback = std::function<Status(Row&& row)>;
  std::function<Status(const RowCallback& each)> for_each_row;
  // The facts only `with_facts` (a page or a cell needs them; the line is always made).
  std::function<Published(const Row& row, bool with_facts)> publish_row;  // may throw DbError
};

// The document of what `db` holds; its jobs are read from `db` (which must outlive it) row by
// row when for_each_job is called.
StatusSource status_source(const Config& config, const Paths& paths, Db& db);

// A whole status document as a source (tests, and documents built in memory). Anything but
// an object is an error.
Result<StatusSource> status_source(nlohmann::json document);

// Writes status.json's text piece by piece: begin(), job() for each job, end(). One job per
// line; "updated_at" always sits at kUpdatedAtOffset, so two texts can be compared without it.
class StatusJsonWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  static constexpr size_t kUpdatedAtOffset = 30;  // after {"version": 1, "updated_at": "
  static constexpr size_t kUpdatedAtSize = 20;    // 2026-11-24T12:00:00Z

  explicit StatusJsonWriter(Sink sink) : sink_(std::move(sink)) {}
  Status begin(Time updated_at, const nlohmann::json& next_job_id, const nlohmann::json& groups);
  Status job(const nlohmann::json& job) { return job_line(line(job)); }
  // The same in two halves: a job object's line (any thread), then writing it.
  static std::string line(const nlohmann::json& job);
  Status job_line(std::string_view line);
  Status end(const nlohmann::json& remotes);

 private:
  Sink sink_;
  bool first_job_ = true;
};

// Writes the whole document (updated_at = `now`) through `sink`: what `status --json` prints.
Status write_status_json(StatusSource& source, Time now, const StatusJsonWriter::Sink& sink);

// The whole document in memory, without "updated_at" (tests and benchmarks).
nlohmann::json status_document(const Config& config, const Paths& paths, Db& db);

// Base groups first (in config order), then the others by last activity, newest first: the
// order of status.json, the index and `status`.
std::vector<GroupRecord> ordered_groups(const Config& config, std::vector<GroupRecord> groups);

}  // namespace runbot
