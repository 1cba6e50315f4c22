// Db: the jobs table (rows <-> Job, the planning and publishing reads, change tracking).
#include <fmt/core.h>
#include <sqlite3.h>

#include <algorithm>

#include "state/db.h"
#include "state/db_query.h"

namespace runbot {

namespace {

using namespace db_query;

namespace sql {
constexpr const char* kInsertJob = "INSERT INTO jobs(" RUNBOT_JOB_COLUMNS
                                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kUpdateJob =
    "UPDATE jobs SET grp = ?, fingerprint = ?, revisions = ?, reason = ?, manual = ?, "
    "pinned = ?, state = ?, result = ?, note = ?, created_at = ?, started_at = ?, "
    "finished_at = ?, instance_started_at = ?, port = ?, details = ?, executor = ?, "
    "executor_id = ?, host = ? WHERE id = ?";
constexpr const char* kJob = "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE id = ?";
constexpr const char* kJobs = "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs ORDER BY id";
constexpr const char* kJobsInStates =  // {} is one '?' per state
    "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE state IN ({}) ORDER BY id";
constexpr const char* kJobsForPlanning =
    // One index lookup per group (jobs are only ever created for recorded groups, which are
    // never deleted) plus the unfinished ones: the cost does not grow with the history.
    // The build details (the biggest column) are not part of planning.
    "SELECT id, grp, fingerprint, revisions, reason, manual, pinned, state, result, note, "
    "created_at, started_at, finished_at, instance_started_at, port, '', executor, executor_id, "
    "host FROM jobs WHERE id IN ("
    "SELECT (SELECT max(id) FROM jobs WHERE grp = g.name) FROM \"groups\" g "
    "UNION SELECT id FROM jobs WHERE state IN ('pending', 'building')) ORDER BY id";
constexpr const char* kJobsChangedSince =
    // Ordered by the indexed column: "ORDER BY id" made SQLite scan the whole table (the
    // history) instead of the few index entries above `changed`.
    "SELECT id FROM jobs WHERE changed > ? ORDER BY changed";
constexpr const char* kJobsToCollect =
    // Only the current jobs are ranked (a collected job is never among its group's newest):
    // the cost follows them, not the history.
    "SELECT id FROM (SELECT id, state, pinned, "
    "row_number() OVER (PARTITION BY grp ORDER BY id DESC) AS n FROM jobs WHERE collected = 0) "
    "WHERE n > ? AND state = 'done' AND pinned = 0 ORDER BY id";
constexpr const char* kMarkCollected =
    "UPDATE jobs SET collected = 1, archived = (SELECT next FROM sequence WHERE name = 'archive') "
    "WHERE id = ? AND collected = 0";
constexpr const char* kAdvanceArchive =
    "UPDATE sequence SET next = next + 1 WHERE name = 'archive'";
constexpr const char* kChangeCount = "SELECT next FROM sequence WHERE name = 'change'";
constexpr const char* kJobsOfGroup =
    "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE grp = ? ORDER BY id";
constexpr const char* kDeleteJob = "DELETE FROM jobs WHERE id = ?";
constexpr const char* kDeleteAllJobs = "DELETE FROM jobs";
}  // namespace sql

std::string revisions_json(const std::vector<Revision>& revisions) {
  json a = json::array();
  for (auto& r : revisions)
    a.push_back({{"project", r.project},
                 {"rev", r.rev},
                 {"branch", r.branch},
                 {"remote", r.remote},
                 {"fallback", r.fallback}});
  return dump(a);
}

}  // namespace

std::vector<Revision> Db::parse_revisions(const std::string& text, int64_t job_id) {
  std::string what = fmt::format("runbot.db: revisions of job {}", job_id);
  std::vector<Revision> out;
  try {
    for (auto& r : parse_array(text, what))
      out.push_back({r.at("project").get<std::string>(), r.at("rev").get<std::string>(),
                     r.at("branch").get<std::string>(), r.at("remote").get<std::string>(),
                     r.at("fallback").get<bool>()});
  } catch (const json::exception& e) {
    throw DbError(fmt::format("{}: {}", what, e.what()));
  }
  return out;
}

namespace {

std::vector<Job> read_jobs(Query& q) {
  std::vector<Job> out;
  while (q.next()) out.push_back(read_job(q));
  return out;
}

// Binds every job field but id, in column order.
void bind_job_fields(Query& q, const Job& j) {
  q.bind(j.group, j.fingerprint, revisions_json(j.revisions), j.reason, j.manual, j.pinned,
         std::string(to_string(j.state)));
  if (j.result)
    q.bind(std::string(to_string(*j.result)));
  else
    q.bind_null();
  q.bind(j.note, j.created_at, j.started_at, j.finished_at, j.instance_started_at, j.port,
         j.details, j.executor, j.executor_id, j.host);
}

}  // namespace

// --- jobs ---

void Db::insert_job(const Job& job) {
  const char* p = "recording a new job";
  Query q(statement(sql::kInsertJob, p), p);
  q.bind(job.id);
  bind_job_fields(q, job);
  q.run();
}

void Db::update_job(const Job& job) {
  const char* p = "updating a job";
  Query q(statement(sql::kUpdateJob, p), p);
  bind_job_fields(q, job);
  q.bind(job.id).run();
}

std::optional<Job> Db::job(int64_t id) {
  const char* p = "reading a job";
  Query q(statement(sql::kJob, p), p);
  q.bind(id);
  if (!q.next()) return std::nullopt;
  return read_job(q);
}

std::vector<Job> Db::jobs() {
  const char* p = "reading jobs";
  Query q(statement(sql::kJobs, p), p);
  return read_jobs(q);
}

std::vector<Job> Db::jobs_in_states(const std::vector<JobState>& states) {
  if (states.empty()) return {};
  std::string marks = "?";
  for (size_t i = 1; i < states.size(); ++i) marks += ", ?";
  const char* p = "reading jobs by state";
  Query q(statement(fmt::format(fmt::runtime(sql::kJobsInStates), marks), p), p);
  for (auto s : states) q.bind(std::string(to_string(s)));
  return read_jobs(q);
}

std::vector<Job> Db::jobs_of_group(const std::string& group) {
  const char* p = "reading a group's jobs";
  Query q(statement(sql::kJobsOfGroup, p), p);
  q.bind(group);
  return read_jobs(q);
}

std::vector<Job> Db::jobs_for_planning() {
  const char* p = "reading the jobs planning needs";
  Query q(statement(sql::kJobsForPlanning, p), p);
  return read_jobs(q);
}

int64_t Db::change_count() {
  const char* p = "reading the change sequence";
  Query q(statement(sql::kChangeCount, p), p);
  if (!q.next()) throw DbError("runbot.db: the change sequence row is missing");
  return q.i64(0);
}

std::vector<int64_t> Db::jobs_changed_since(int64_t change) {
  const char* p = "reading changed jobs";
  Query q(statement(sql::kJobsChangedSince, p), p);
  q.bind(change);
  std::vector<int64_t> out;
  while (q.next()) out.push_back(q.i64(0));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> Db::jobs_to_collect(int keep_per_group) {
  const char* p = "choosing jobs to garbage-collect";
  Query q(statement(sql::kJobsToCollect, p), p);
  q.bind(static_cast<int64_t>(keep_per_group));
  std::vector<int64_t> out;
  while (q.next()) out.push_back(q.i64(0));
  return out;
}

void Db::mark_collected(int64_t id) {
  const char* p = "marking a job collected";
  std::optional<Transaction> own;  // the caller's transaction, else one of its own
  if (sqlite3_get_autocommit(handle())) own.emplace(*this);
  Query(statement(sql::kMarkCollected, p), p).bind(id).run();
  if (sqlite3_changes(handle()) > 0) Query(statement(sql::kAdvanceArchive, p), p).run();
  if (own) own->commit();
}

void Db::delete_job(int64_t id) {
  const char* p = "deleting a job";
  Query(statement(sql::kDeleteJob, p), p).bind(id).run();
}

void Db::delete_all_jobs() {
  const char* p = "deleting all jobs";
  Query(statement(sql::kDeleteAllJobs, p), p).run();
}

}  // namespace runbot
