// Db: what the site reads (current jobs, history pages, group pages) and the cache of what it
// rendered for each current job. Every query here follows the current jobs or one page, never
// the whole history, except for_each_job_row(false) (`status --json --all`) and job_counts().
#include <fmt/core.h>
#include <sqlite3.h>

#include "state/db.h"
#include "state/db_query.h"

namespace runbot {

namespace {

using namespace db_query;

namespace sql {
#define RUNBOT_ROW_COLUMNS RUNBOT_JOB_COLUMNS ", changed, coalesce(archived, 0)"
#define RUNBOT_CURRENT(cell)                                                   \
  "SELECT j.id, j.grp, j.state, j.result, j.changed, c.changed, c.line, " cell \
  ", c.mini "                                                                  \
  "FROM jobs j LEFT JOIN site_jobs c ON c.id = j.id WHERE j.collected = 0 ORDER BY j.id DESC"
constexpr const char* kCurrentJobs = RUNBOT_CURRENT("c.cell");
constexpr const char* kCurrentJobsWithoutCards = RUNBOT_CURRENT("''");
#undef RUNBOT_CURRENT
constexpr const char* kAllRows = "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs ORDER BY id DESC";
constexpr const char* kCurrentRows =
    "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs WHERE collected = 0 ORDER BY id DESC";
constexpr const char* kRow = "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs WHERE id = ?";
constexpr const char* kRowsBelow =
    "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?";
constexpr const char* kHistoryRows =
    "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs WHERE archived BETWEEN ? AND ? ORDER BY id";
constexpr const char* kHistorySize = "SELECT next - 1 FROM sequence WHERE name = 'archive'";
constexpr const char* kUnplaced =
    "SELECT id FROM jobs WHERE collected = 1 AND archived IS NULL ORDER BY id";
constexpr const char* kPlace =
    "UPDATE jobs SET archived = (SELECT next FROM sequence WHERE name = 'archive') WHERE id = ?";
constexpr const char* kAdvancePlace = "UPDATE sequence SET next = next + 1 WHERE name = 'archive'";
constexpr const char* kGroupRows =
    "SELECT " RUNBOT_ROW_COLUMNS " FROM jobs WHERE grp = ? ORDER BY id LIMIT ? OFFSET ?";
constexpr const char* kGroupCount = "SELECT count(*) FROM jobs WHERE grp = ?";
constexpr const char* kGroupPosition = "SELECT count(*) FROM jobs WHERE grp = ? AND id < ?";
constexpr const char* kCurrentIds = "SELECT grp, id FROM jobs WHERE collected = 0 ORDER BY id DESC";
constexpr const char* kGroupsCount = "SELECT count(*) FROM \"groups\"";
constexpr const char* kCounts = "SELECT state, count(*) FROM jobs GROUP BY state";
constexpr const char* kPutCache =
    "INSERT INTO site_jobs(id, changed, line, cell, mini) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET changed = excluded.changed, line = excluded.line, "
    "cell = excluded.cell, mini = excluded.mini";
constexpr const char* kDropCache = "DELETE FROM site_jobs WHERE id = ?";
constexpr const char* kClearCache = "DELETE FROM site_jobs";
#undef RUNBOT_ROW_COLUMNS
}  // namespace sql

constexpr int kChangedColumn = 19;

JobRow read_row(const Query& q) {
  JobRow row;
  row.job = read_job(q, &row.revisions);
  row.changed = q.i64(kChangedColumn);
  row.place = q.i64(kChangedColumn + 1);
  return row;
}

std::vector<JobRow> read_rows(Query& q) {
  std::vector<JobRow> out;
  while (q.next()) out.push_back(read_row(q));
  return out;
}

}  // namespace

void Db::for_each_current_job(const std::function<void(CurrentJob&&)>& each, bool cards) {
  const char* p = "reading the current jobs";
  Query q(statement(cards ? sql::kCurrentJobs : sql::kCurrentJobsWithoutCards, p), p);
  while (q.next()) {
    CurrentJob j;
    j.id = q.i64(0);
    j.group = q.text(1);
    auto state = parse_job_state(q.text(2));
    if (!state) throw DbError(fmt::format("runbot.db: job {} has state '{}'", j.id, q.text(2)));
    j.state = *state;
    if (!q.is_null(3)) {
      j.result = parse_job_result(q.text(3));
      if (!j.result)
        throw DbError(fmt::format("runbot.db: job {} has result '{}'", j.id, q.text(3)));
    }
    j.changed = q.i64(4);
    if (!q.is_null(5) && q.i64(5) == j.changed)
      j.cache = SiteCache{j.changed, q.text(6), q.text(7), q.text(8)};
    each(std::move(j));
  }
}

void Db::for_each_job_row(bool current_only, const std::function<bool(JobRow&&)>& each) {
  const char* p = "reading jobs";
  Query q(statement(current_only ? sql::kCurrentRows : sql::kAllRows, p), p);
  while (q.next())
    if (!each(read_row(q))) break;
}

std::optional<JobRow> Db::job_row(int64_t id) {
  const char* p = "reading a job";
  Query q(statement(sql::kRow, p), p);
  q.bind(id);
  if (!q.next()) return std::nullopt;
  return read_row(q);
}

std::vector<JobRow> Db::job_rows_below(int64_t below, size_t limit) {
  const char* p = "reading older jobs";
  Query q(statement(sql::kRowsBelow, p), p);
  q.bind(below, static_cast<int64_t>(limit));
  return read_rows(q);
}

std::vector<JobRow> Db::history_rows(int64_t first, int64_t last) {
  const char* p = "reading a history page";
  Query q(statement(sql::kHistoryRows, p), p);
  q.bind(first, last);
  return read_rows(q);
}

int64_t Db::history_size() {
  const char* p = "reading the history sequence";
  Query q(statement(sql::kHistorySize, p), p);
  if (!q.next()) throw DbError("runbot.db: the history sequence row is missing");
  return q.i64(0);
}

void Db::place_collected_jobs() {
  const char* p = "placing collected jobs in the history";
  std::vector<int64_t> ids;
  {
    Query q(statement(sql::kUnplaced, p), p);
    while (q.next()) ids.push_back(q.i64(0));
  }
  if (ids.empty()) return;
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(handle())) own.emplace(*this);
  for (int64_t id : ids) {
    Query(statement(sql::kPlace, p), p).bind(id).run();
    Query(statement(sql::kAdvancePlace, p), p).run();
  }
  if (own) own->commit();
}

std::vector<JobRow> Db::group_rows(const std::string& group, int64_t offset, size_t limit) {
  const char* p = "reading a group's jobs";
  Query q(statement(sql::kGroupRows, p), p);
  q.bind(group, static_cast<int64_t>(limit), offset);
  return read_rows(q);
}

int64_t Db::group_job_count(const std::string& group) {
  const char* p = "counting a group's jobs";
  Query q(statement(sql::kGroupCount, p), p);
  q.bind(group);
  return q.next() ? q.i64(0) : 0;
}

int64_t Db::group_job_position(const std::string& group, int64_t id) {
  const char* p = "placing a job in its group";
  Query q(statement(sql::kGroupPosition, p), p);
  q.bind(group, id);
  return q.next() ? q.i64(0) : 0;
}

std::map<std::string, std::vector<int64_t>> Db::current_job_ids_by_group() {
  const char* p = "reading the current jobs of each group";
  Query q(statement(sql::kCurrentIds, p), p);
  std::map<std::string, std::vector<int64_t>> out;
  while (q.next()) out[q.text(0)].push_back(q.i64(1));
  return out;
}

int64_t Db::groups_count() {
  const char* p = "counting groups";
  Query q(statement(sql::kGroupsCount, p), p);
  return q.next() ? q.i64(0) : 0;
}

std::map<JobState, int64_t> Db::job_counts() {
  const char* p = "counting jobs";
  Query q(statement(sql::kCounts, p), p);
  std::map<JobState, int64_t> out;
  while (q.next())
    if (auto state = parse_job_state(q.text(0))) out[*state] += q.i64(1);
  return out;
}

void Db::put_site_cache(int64_t id, const SiteCache& entry) {
  const char* p = "caching a job's rendering";
  Query(statement(sql::kPutCache, p), p)
      .bind(id, entry.changed, entry.line, entry.cell, entry.mini)
      .run();
}

void Db::drop_site_cache(int64_t id) {
  const char* p = "dropping a job's cached rendering";
  Query(statement(sql::kDropCache, p), p).bind(id).run();
}

void Db::clear_site_cache() {
  const char* p = "clearing the site's cache";
  Query(statement(sql::kClearCache, p), p).run();
}

}  // namespace runbot
