#include "state/db.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <iterator>
#include <nlohmann/json.hpp>

#include "state/db_query.h"

namespace runbot {

namespace {

using nlohmann::json;
using namespace db_query;

// Forward migrations: kMigrations[v] takes a database from user_version v to v + 1. A new
// schema version appends one step and bumps Db::kSchemaVersion.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE sequence(name TEXT PRIMARY KEY, next INTEGER NOT NULL);
INSERT INTO sequence(name, next) VALUES ('job', 1);
CREATE TABLE remotes(
  project TEXT NOT NULL, remote TEXT NOT NULL, ok INTEGER NOT NULL, message TEXT NOT NULL,
  checked_at INTEGER NOT NULL, PRIMARY KEY(project, remote));
CREATE TABLE branches(
  project TEXT NOT NULL, remote TEXT NOT NULL, name TEXT NOT NULL, rev TEXT NOT NULL,
  commit_time INTEGER NOT NULL, seen_at INTEGER NOT NULL, PRIMARY KEY(project, remote, name));
CREATE TABLE "groups"(
  name TEXT PRIMARY KEY, base TEXT NOT NULL, is_base INTEGER NOT NULL, deleted INTEGER NOT NULL,
  warnings TEXT NOT NULL, first_seen INTEGER NOT NULL, last_activity INTEGER NOT NULL);
CREATE TABLE jobs(
  id INTEGER PRIMARY KEY, grp TEXT NOT NULL, fingerprint TEXT NOT NULL, revisions TEXT NOT NULL,
  reason TEXT NOT NULL, manual INTEGER NOT NULL, pinned INTEGER NOT NULL, state TEXT NOT NULL,
  result TEXT, note TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL, instance_started_at INTEGER NOT NULL, port INTEGER NOT NULL);
CREATE INDEX jobs_by_group ON jobs(grp, id);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // v2: change tracking (so publishing works from what changed), the build's details kept
    // in the row (so status never re-reads job folders), garbage-collection bookkeeping.
    R"sql(
ALTER TABLE jobs ADD COLUMN details TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN collected INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_changed ON jobs(changed);
INSERT INTO sequence(name, next) VALUES ('change', 1);
CREATE TRIGGER jobs_inserted AFTER INSERT ON jobs BEGIN
  UPDATE jobs SET changed = (SELECT next FROM sequence WHERE name = 'change') WHERE id = NEW.id;
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER jobs_updated AFTER UPDATE ON jobs WHEN NEW.changed = OLD.changed BEGIN
  UPDATE jobs SET changed = (SELECT next FROM sequence WHERE name = 'change') WHERE id = NEW.id;
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER jobs_deleted AFTER DELETE ON jobs BEGIN
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER groups_inserted AFTER INSERT ON "groups" BEGIN
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER groups_updated AFTER UPDATE ON "groups" BEGIN
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER remotes_inserted AFTER INSERT ON remotes BEGIN
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
CREATE TRIGGER remotes_updated AFTER UPDATE ON remotes
  WHEN NEW.ok IS NOT OLD.ok OR NEW.message IS NOT OLD.message BEGIN
  UPDATE sequence SET next = next + 1 WHERE name = 'change';
END;
)sql",
    // v3: build errors (SPEC "Build errors"): each job's errors, one row per fingerprint, and
    // the errors table kept from them by triggers (so any deletion of jobs keeps it right).
    R"sql(
CREATE INDEX jobs_by_fingerprint ON jobs(fingerprint);
CREATE TABLE job_errors(
  job INTEGER NOT NULL, fingerprint TEXT NOT NULL, grp TEXT NOT NULL, class TEXT NOT NULL,
  step TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY(job, fingerprint)) WITHOUT ROWID;
CREATE INDEX job_errors_by_fingerprint ON job_errors(fingerprint, job);
CREATE TABLE errors(
  fingerprint TEXT PRIMARY KEY, sample TEXT NOT NULL, step TEXT NOT NULL,
  first_job INTEGER NOT NULL, last_job INTEGER NOT NULL, jobs INTEGER NOT NULL,
  flaky INTEGER NOT NULL);
CREATE INDEX errors_by_last_job ON errors(last_job);
CREATE TABLE error_groups(
  fingerprint TEXT NOT NULL, grp TEXT NOT NULL, jobs INTEGER NOT NULL, last_job INTEGER NOT NULL,
  PRIMARY KEY(fingerprint, grp)) WITHOUT ROWID;
CREATE TRIGGER job_errors_inserted AFTER INSERT ON job_errors BEGIN
  INSERT INTO errors(fingerprint, sample, step, first_job, last_job, jobs, flaky)
    VALUES (NEW.fingerprint, NEW.text, NEW.step, NEW.job, NEW.job, 1, NEW.class = 'flaky')
    ON CONFLICT(fingerprint) DO UPDATE SET jobs = jobs + 1, first_job = min(first_job, NEW.job),
      last_job = max(last_job, NEW.job), flaky = flaky + (NEW.class = 'flaky');
  INSERT INTO error_groups(fingerprint, grp, jobs, last_job)
    VALUES (NEW.fingerprint, NEW.grp, 1, NEW.job)
    ON CONFLICT(fingerprint, grp) DO UPDATE SET jobs = jobs + 1, last_job = max(last_job, NEW.job);
END;
CREATE TRIGGER job_errors_reclassified AFTER UPDATE OF class ON job_errors
  WHEN NEW.class IS NOT OLD.class BEGIN
  UPDATE errors SET flaky = flaky + (NEW.class = 'flaky') - (OLD.class = 'flaky')
    WHERE fingerprint = NEW.fingerprint;
END;
CREATE TRIGGER job_errors_deleted AFTER DELETE ON job_errors BEGIN
  UPDATE errors SET jobs = jobs - 1, flaky = flaky - (OLD.class = 'flaky'),
    first_job = coalesce((SELECT min(job) FROM job_errors WHERE fingerprint = OLD.fingerprint),
                         first_job),
    last_job = coalesce((SELECT max(job) FROM job_errors WHERE fingerprint = OLD.fingerprint),
                        last_job)
    WHERE fingerprint = OLD.fingerprint;
  DELETE FROM errors WHERE fingerprint = OLD.fingerprint AND jobs <= 0;
  UPDATE error_groups SET jobs = jobs - 1,
    last_job = coalesce((SELECT max(job) FROM job_errors
                         WHERE fingerprint = OLD.fingerprint AND grp = OLD.grp), last_job)
    WHERE fingerprint = OLD.fingerprint AND grp = OLD.grp;
  DELETE FROM error_groups WHERE fingerprint = OLD.fingerprint AND grp = OLD.grp AND jobs <= 0;
END;
CREATE TRIGGER jobs_deleted_errors AFTER DELETE ON jobs BEGIN
  DELETE FROM job_errors WHERE job = OLD.id;
END;
)sql",
    // v4: history (SPEC "Site"): a collected job gets its place in the history once (1, 2,
    // ...; history/<n>.json holds places 1000(n-1)+1 .. 1000n), and the site's cache of what it
    // rendered for each current job, so that a tick renders only the jobs that changed.
    R"sql(
ALTER TABLE jobs ADD COLUMN archived INTEGER;
INSERT INTO sequence(name, next) VALUES ('archive', 1);
UPDATE jobs SET archived = r.n
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM jobs WHERE collected = 1) AS r
  WHERE jobs.id = r.id;
UPDATE sequence SET next = (SELECT count(*) + 1 FROM jobs WHERE collected = 1)
  WHERE name = 'archive';
CREATE INDEX jobs_current ON jobs(id) WHERE collected = 0;
CREATE INDEX jobs_unarchived ON jobs(id) WHERE collected = 1 AND archived IS NULL;
CREATE INDEX jobs_by_place ON jobs(archived) WHERE archived IS NOT NULL;
CREATE TABLE site_jobs(
  id INTEGER PRIMARY KEY, changed INTEGER NOT NULL, line TEXT NOT NULL, cell TEXT NOT NULL,
  mini TEXT NOT NULL);
)sql",
    // v5: the current jobs (a few thousand, whatever the history) read from covering indexes
    // that hold only them: the site's list of them, and retention's ranking per group. They
    // name `collected` as a column so that SQLite sees they cover "WHERE collected = 0".
    R"sql(
DROP INDEX jobs_current;
CREATE INDEX jobs_current ON jobs(collected, id, grp, state, result, changed) WHERE collected = 0;
CREATE INDEX jobs_current_by_group ON jobs(collected, grp, id, state, pinned) WHERE collected = 0;
)sql",
    // v6: executors (SPEC "Executors"): each job remembers the executor kind that started it,
    // that executor's id for it (the Slurm job id) and the host it runs on. Jobs of older
    // versions ran locally. The site's cached renderings predate the "executor" field.
    R"sql(
ALTER TABLE jobs ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
ALTER TABLE jobs ADD COLUMN executor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN host TEXT NOT NULL DEFAULT '';
DELETE FROM site_jobs;
)sql",
};
static_assert(std::size(kMigrations) == Db::kSchemaVersion);

// Every statement of the current schema.
namespace sql {
constexpr const char* kUserVersion = "PRAGMA user_version";
constexpr const char* kNextJobId = "SELECT next FROM sequence WHERE name = 'job'";
constexpr const char* kRaiseJobId = "UPDATE sequence SET next = max(next, ?) WHERE name = 'job'";
constexpr const char* kAllocateJobId =
    "UPDATE sequence SET next = next + 1 WHERE name = 'job' RETURNING next - 1";
constexpr const char* kMeta = "SELECT value FROM meta WHERE key = ?";
constexpr const char* kSetMeta =
    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
    "excluded.value";
}  // namespace sql

}  // namespace

// --- opening, migrations, statements, transactions ---

std::unique_ptr<Db> Db::open(const std::filesystem::path& file) {
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close_v2(handle);
    throw DbError(fmt::format("{}: opening the database: {}", file.string(), msg));
  }
  std::unique_ptr<Db> db(new Db(handle));
  sqlite3_busy_timeout(handle, 10'000);
  db->exec("PRAGMA journal_mode=WAL", "switching to WAL mode");
  db->exec("PRAGMA synchronous=NORMAL", "setting synchronous=NORMAL");
  db->exec("PRAGMA foreign_keys=ON", "enabling foreign keys");
  db->migrate();
  return db;
}

Db::Db(sqlite3* db) : db_(db) {}

Db::~Db() {
  for (auto& [text, s] : statements_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

void Db::exec(const char* sql) { exec(sql, sql); }

void Db::exec(const char* sql, const char* purpose) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw error(db_, purpose);
}

sqlite3_stmt* Db::statement(const std::string& sql, const char* purpose) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    sqlite3_finalize(s);
    throw error(db_, purpose);
  }
  statements_.emplace(sql, s);
  return s;
}

int Db::schema_version() {
  const char* p = "reading the schema version";
  Query q(statement(sql::kUserVersion, p), p);
  return q.next() ? static_cast<int>(q.i64(0)) : 0;
}

void Db::migrate() {
  auto check_not_newer = [&](int v) {
    if (v <= kSchemaVersion) return;
    throw DbError(fmt::format(
        "{} has schema version {} but this openerp-runbot knows up to {}; upgrade openerp-runbot",
        sqlite3_db_filename(db_, "main"), v, kSchemaVersion));
  };
  check_not_newer(schema_version());
  while (schema_version() < kSchemaVersion) {
    Transaction t(*this);
    // Re-read under the write lock: another process may have migrated meanwhile.
    int version = schema_version();
    check_not_newer(version);
    if (version == kSchemaVersion) break;
    std::string purpose = fmt::format("migrating the schema to version {}", version + 1);
    exec(kMigrations[version], purpose.c_str());
    exec(fmt::format("PRAGMA user_version = {}", version + 1).c_str(), purpose.c_str());
    t.commit();
  }
}

Db::Transaction::Transaction(Db& db, Kind kind) : db_(db) {
  db_.exec(kind == write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "starting a transaction");
}

Db::Transaction::~Transaction() {
  if (!done_ && !sqlite3_get_autocommit(db_.db_))
    sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Db::Transaction::commit() {
  db_.exec("COMMIT", "committing a transaction");
  done_ = true;
}

// --- job-id sequence ---

int64_t Db::next_job_id() {
  const char* p = "reading the job-id sequence";
  Query q(statement(sql::kNextJobId, p), p);
  if (!q.next()) throw DbError("runbot.db: the job-id sequence row is missing");
  return q.i64(0);
}

void Db::raise_next_job_id(int64_t value) {
  const char* p = "raising the job-id sequence";
  Query(statement(sql::kRaiseJobId, p), p).bind(value).run();
}

int64_t Db::allocate_job_id() {
  const char* p = "allocating a job id";
  Query q(statement(sql::kAllocateJobId, p), p);
  if (!q.next()) throw DbError("runbot.db: the job-id sequence row is missing");
  int64_t id = q.i64(0);
  q.run();
  return id;
}

// --- key/value ---

std::optional<std::string> Db::meta(const std::string& key) {
  const char* p = "reading a meta value";
  Query q(statement(sql::kMeta, p), p);
  q.bind(key);
  if (!q.next()) return std::nullopt;
  return q.text(0);
}

void Db::set_meta(const std::string& key, const std::string& value) {
  const char* p = "writing a meta value";
  Query(statement(sql::kSetMeta, p), p).bind(key, value).run();
}

}  // namespace runbot
