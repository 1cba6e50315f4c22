// The DB's statement plumbing shared by db.cc, db_jobs.cc and db_site.cc (not part of Db's
// interface).
#pragma once
#include <fmt/core.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>

#include "state/db.h"

// A job row's columns, in the order read_job() reads them.
#define RUNBOT_JOB_COLUMNS                                                                     \
  "id, grp, fingerprint, revisions, reason, manual, pinned, state, result, note, created_at, " \
  "started_at, finished_at, instance_started_at, port, details, executor, executor_id, host"

namespace runbot::db_query {

using nlohmann::json;

inline DbError error(sqlite3* db, const std::string& purpose) {
  const char* file = sqlite3_db_filename(db, "main");
  return DbError(
      fmt::format("{}: {}: {}", file && *file ? file : "runbot.db", purpose, sqlite3_errmsg(db)));
}

// One use of a cached statement: binds parameters in order, steps, reads columns, and resets
// the statement when it goes out of scope so the cache can hand it out again.
class Query {
 public:
  Query(sqlite3_stmt* s, const char* purpose) : s_(s), purpose_(purpose) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // Binds the next parameters, in order.
  template <typename... Args>
  Query& bind(const Args&... args) {
    (bind_one(args), ...);
    return *this;
  }
  Query& bind_null() { return check(sqlite3_bind_null(s_, ++arg_)); }

  // Steps once; true when a row is available.
  bool next() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw error(sqlite3_db_handle(s_), purpose_);
  }
  void run() {
    while (next()) {
    }
  }

  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  void bind_one(int64_t v) { check(sqlite3_bind_int64(s_, ++arg_, v)); }
  void bind_one(const std::string& v) {
    check(sqlite3_bind_text64(s_, ++arg_, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Query& check(int rc) {
    if (rc != SQLITE_OK) throw error(sqlite3_db_handle(s_), purpose_);
    return *this;
  }
  sqlite3_stmt* s_;
  const char* purpose_;
  int arg_ = 0;
};

inline json parse_array(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw DbError(fmt::format("{} is not a JSON array", what));
  return j;
}

// `revisions`: where to leave the stored text instead of parsing it into the job.
inline Job read_job(const Query& q, std::string* revisions = nullptr) {
  Job j;
  j.id = q.i64(0);
  j.group = q.text(1);
  j.fingerprint = q.text(2);
  if (revisions)
    *revisions = q.text(3);
  else
    j.revisions = Db::parse_revisions(q.text(3), j.id);
  j.reason = q.text(4);
  j.manual = q.i64(5) != 0;
  j.pinned = q.i64(6) != 0;
  auto state = parse_job_state(q.text(7));
  if (!state) throw DbError(fmt::format("runbot.db: job {} has state '{}'", j.id, q.text(7)));
  j.state = *state;
  if (!q.is_null(8)) {
    j.result = parse_job_result(q.text(8));
    if (!j.result) throw DbError(fmt::format("runbot.db: job {} has result '{}'", j.id, q.text(8)));
  }
  j.note = q.text(9);
  j.created_at = q.i64(10);
  j.started_at = q.i64(11);
  j.finished_at = q.i64(12);
  j.instance_started_at = q.i64(13);
  j.port = static_cast<int>(q.i64(14));
  j.details = q.text(15);
  j.executor = q.text(16);
  j.executor_id = q.text(17);
  j.host = q.text(18);
  return j;
}

// Invalid UTF-8 (possible in branch names) becomes U+FFFD rather than failing the tick.
inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace runbot::db_query
