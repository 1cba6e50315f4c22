// Db: build errors (SPEC "Build errors"): job_errors rows, the errors table they maintain
// through triggers (schema v3), and the lookups that classify an error.
#include "state/db.h"
#include "state/db_query.h"

namespace runbot {

namespace {

using namespace db_query;

namespace sql {
constexpr const char* kInsertJobError =
    "INSERT OR IGNORE INTO job_errors(job, fingerprint, grp, class, step, text) "
    "VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* kHasJobErrors = "SELECT 1 FROM job_errors WHERE job = ? LIMIT 1";
constexpr const char* kSeenElsewhere =
    // One row per group that had it: the cost follows the groups, not the history.
    "SELECT e.last_job, e.grp FROM error_groups e LEFT JOIN \"groups\" g ON g.name = e.grp "
    "WHERE e.fingerprint = ? AND e.last_job <> ? "
    "ORDER BY coalesce(g.is_base, 0) DESC, e.last_job DESC LIMIT 1";
constexpr const char* kPassingTwin =
    "SELECT id FROM jobs WHERE fingerprint = ? AND id <> ? AND result IN ('ok', 'warn') "
    "ORDER BY id DESC LIMIT 1";
constexpr const char* kUnflakyTwins =
    "SELECT DISTINCT e.job FROM jobs j JOIN job_errors e ON e.job = j.id "
    "WHERE j.fingerprint = ? AND j.id <> ? AND e.class <> 'flaky' ORDER BY e.job";
constexpr const char* kMakeFlaky = "UPDATE job_errors SET class = 'flaky' WHERE job = ?";
constexpr const char* kErrors =
    "SELECT fingerprint, sample, step, first_job, last_job, jobs, flaky FROM errors "
    "ORDER BY last_job DESC, fingerprint LIMIT ?";
constexpr const char* kErrorGroups =
    "SELECT grp, last_job FROM error_groups WHERE fingerprint = ? ORDER BY last_job DESC, grp "
    "LIMIT ?";
constexpr const char* kErrorGroupCount = "SELECT count(*) FROM error_groups WHERE fingerprint = ?";
constexpr const char* kErrorCount = "SELECT count(*) FROM errors";
constexpr const char* kErrorsSignature =
    "SELECT count(*), coalesce(max(last_job), 0), coalesce(sum(jobs), 0), "
    "coalesce(sum(flaky), 0), coalesce(min(first_job), 0) FROM errors";
}  // namespace sql

}  // namespace

void Db::insert_job_error(int64_t job, const std::string& group, const std::string& fingerprint,
                          const std::string& cls, const std::string& step,
                          const std::string& text) {
  const char* p = "recording a job's error";
  Query(statement(sql::kInsertJobError, p), p).bind(job, fingerprint, group, cls, step, text).run();
}

bool Db::has_job_errors(int64_t job) {
  const char* p = "reading a job's errors";
  Query q(statement(sql::kHasJobErrors, p), p);
  return q.bind(job).next();
}

std::optional<ErrorSighting> Db::error_seen_elsewhere(const std::string& fingerprint, int64_t job) {
  const char* p = "looking an error up";
  Query q(statement(sql::kSeenElsewhere, p), p);
  if (!q.bind(fingerprint, job).next()) return std::nullopt;
  return ErrorSighting{q.i64(0), q.text(1)};
}

std::optional<int64_t> Db::passing_twin(const std::string& job_fingerprint, int64_t job) {
  const char* p = "looking for a passing job with the same revisions";
  Query q(statement(sql::kPassingTwin, p), p);
  if (!q.bind(job_fingerprint, job).next()) return std::nullopt;
  return q.i64(0);
}

std::vector<int64_t> Db::jobs_with_unflaky_errors(const std::string& job_fingerprint, int64_t job) {
  const char* p = "looking for failed jobs with the same revisions";
  Query q(statement(sql::kUnflakyTwins, p), p);
  q.bind(job_fingerprint, job);
  std::vector<int64_t> out;
  while (q.next()) out.push_back(q.i64(0));
  return out;
}

void Db::make_job_errors_flaky(int64_t job) {
  const char* p = "marking a job's errors flaky";
  Query(statement(sql::kMakeFlaky, p), p).bind(job).run();
}

std::vector<ErrorRecord> Db::errors(size_t limit, size_t max_groups) {
  const char* p = "reading the errors table";
  Query q(statement(sql::kErrors, p), p);
  q.bind(limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
  // (each error's groups below)
  std::vector<ErrorRecord> out;
  while (q.next())
    out.push_back({q.text(0), q.text(1), q.text(2), q.i64(3), q.i64(4), q.i64(5), q.i64(6), {}, 0});
  auto bounded = [](size_t n) { return n == 0 ? int64_t{-1} : static_cast<int64_t>(n); };
  for (auto& e : out) {
    Query g(statement(sql::kErrorGroups, p), p);
    g.bind(e.fingerprint, bounded(max_groups));
    while (g.next()) e.groups.emplace_back(g.text(0), g.i64(1));
    e.group_count = static_cast<int64_t>(e.groups.size());
    if (max_groups > 0 && e.groups.size() == max_groups) {
      Query c(statement(sql::kErrorGroupCount, p), p);
      if (c.bind(e.fingerprint).next()) e.group_count = c.i64(0);
    }
  }
  return out;
}

int64_t Db::error_count() {
  const char* p = "counting errors";
  Query q(statement(sql::kErrorCount, p), p);
  return q.next() ? q.i64(0) : 0;
}

std::string Db::errors_signature() {
  const char* p = "reading the errors table's signature";
  Query q(statement(sql::kErrorsSignature, p), p);
  if (!q.next()) return "";
  return fmt::format("{} {} {} {} {}", q.i64(0), q.i64(1), q.i64(2), q.i64(3), q.i64(4));
}

}  // namespace runbot
