#include "db.h"

#include <fmt/core.h>
#include <sqlite3.h>

#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

namespace runbot {

namespace {

using nlohmann::json;

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
};
static_assert(std::size(kMigrations) == Db::kSchemaVersion);

// Every statement of the current schema.
namespace sql {
constexpr const char* kUserVersion = "PRAGMA user_version";
constexpr const char* kNextJobId = "SELECT next FROM sequence WHERE name = 'job'";
constexpr const char* kRaiseJobId = "UPDATE sequence SET next = max(next, ?) WHERE name = 'job'";
constexpr const char* kAllocateJobId =
    "UPDATE sequence SET next = next + 1 WHERE name = 'job' RETURNING next - 1";
constexpr const char* kRemotes =
    "SELECT project, remote, ok, message, checked_at FROM remotes ORDER BY project, remote";
constexpr const char* kSetRemote =
    "INSERT INTO remotes(project, remote, ok, message, checked_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(project, remote) DO UPDATE SET "
    "ok = excluded.ok, message = excluded.message, checked_at = excluded.checked_at";
constexpr const char* kKnownRemotes =
    "SELECT project, remote FROM remotes UNION SELECT project, remote FROM branches";
constexpr const char* kDeleteRemote = "DELETE FROM remotes WHERE project = ? AND remote = ?";
constexpr const char* kDeleteRemoteBranches =
    "DELETE FROM branches WHERE project = ? AND remote = ?";
constexpr const char* kBranches =
    "SELECT project, remote, name, rev, commit_time, seen_at FROM branches "
    "ORDER BY project, remote, name";
constexpr const char* kRemoteBranches =
    "SELECT name, rev, commit_time FROM branches WHERE project = ? AND remote = ?";
constexpr const char* kDeleteBranch =
    "DELETE FROM branches WHERE project = ? AND remote = ? AND name = ?";
constexpr const char* kInsertBranch =
    "INSERT INTO branches(project, remote, name, rev, commit_time, seen_at) "
    "VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* kUpdateBranch =
    "UPDATE branches SET rev = ?, commit_time = ?, seen_at = CASE WHEN ? THEN ? ELSE seen_at END "
    "WHERE project = ? AND remote = ? AND name = ?";
constexpr const char* kGroups =
    "SELECT name, base, is_base, deleted, warnings, first_seen, last_activity FROM \"groups\" "
    "ORDER BY name";
constexpr const char* kUpsertGroup =
    "INSERT INTO \"groups\"(name, base, is_base, deleted, warnings, first_seen, last_activity) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET base = excluded.base, "
    "is_base = excluded.is_base, deleted = excluded.deleted, warnings = excluded.warnings, "
    "first_seen = excluded.first_seen, last_activity = excluded.last_activity";
#define RUNBOT_JOB_COLUMNS                                                                     \
  "id, grp, fingerprint, revisions, reason, manual, pinned, state, result, note, created_at, " \
  "started_at, finished_at, instance_started_at, port, details"
constexpr const char* kInsertJob =
    "INSERT INTO jobs(" RUNBOT_JOB_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kUpdateJob =
    "UPDATE jobs SET grp = ?, fingerprint = ?, revisions = ?, reason = ?, manual = ?, "
    "pinned = ?, state = ?, result = ?, note = ?, created_at = ?, started_at = ?, "
    "finished_at = ?, instance_started_at = ?, port = ?, details = ? WHERE id = ?";
constexpr const char* kJob = "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE id = ?";
constexpr const char* kJobs = "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs ORDER BY id";
constexpr const char* kJobsInStates =  // {} is one '?' per state
    "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE state IN ({}) ORDER BY id";
constexpr const char* kJobsForPlanning =
    // One index lookup per group (jobs are only ever created for recorded groups, which are
    // never deleted) plus the unfinished ones: the cost does not grow with the history.
    // The build details (the biggest column) are not part of planning.
    "SELECT id, grp, fingerprint, revisions, reason, manual, pinned, state, result, note, "
    "created_at, started_at, finished_at, instance_started_at, port, '' FROM jobs WHERE id IN ("
    "SELECT (SELECT max(id) FROM jobs WHERE grp = g.name) FROM \"groups\" g "
    "UNION SELECT id FROM jobs WHERE state IN ('pending', 'building')) ORDER BY id";
constexpr const char* kJobsChangedSince =
    "SELECT id FROM jobs WHERE changed > ? ORDER BY id";
constexpr const char* kJobsToCollect =
    "SELECT id FROM (SELECT id, state, pinned, collected, "
    "row_number() OVER (PARTITION BY grp ORDER BY id DESC) AS n FROM jobs) "
    "WHERE n > ? AND state = 'done' AND pinned = 0 AND collected = 0 ORDER BY id";
constexpr const char* kMarkCollected = "UPDATE jobs SET collected = 1 WHERE id = ?";
constexpr const char* kChangeCount = "SELECT next FROM sequence WHERE name = 'change'";
constexpr const char* kJobsNewestFirst =
    "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs ORDER BY id DESC";
constexpr const char* kJobIdsByGroup = "SELECT grp, id FROM jobs ORDER BY id DESC";
constexpr const char* kJobsOfGroup =
    "SELECT " RUNBOT_JOB_COLUMNS " FROM jobs WHERE grp = ? ORDER BY id";
#undef RUNBOT_JOB_COLUMNS
constexpr const char* kDeleteJob = "DELETE FROM jobs WHERE id = ?";
constexpr const char* kDeleteAllJobs = "DELETE FROM jobs";
constexpr const char* kMeta = "SELECT value FROM meta WHERE key = ?";
constexpr const char* kSetMeta =
    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
    "excluded.value";
}  // namespace sql

DbError error(sqlite3* db, const std::string& purpose) {
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

json parse_array(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw DbError(fmt::format("{} is not a JSON array", what));
  return j;
}

// Invalid UTF-8 (possible in branch names) becomes U+FFFD rather than failing the tick.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

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

std::vector<Revision> parse_revisions(const std::string& text, int64_t job_id) {
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

Job read_job(const Query& q) {
  Job j;
  j.id = q.i64(0);
  j.group = q.text(1);
  j.fingerprint = q.text(2);
  j.revisions = parse_revisions(q.text(3), j.id);
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
  return j;
}

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
         j.details);
}

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

Db::Transaction::Transaction(Db& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE", "starting a transaction");
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

// --- remotes and branches ---

std::vector<RemoteStatus> Db::remote_statuses() {
  const char* p = "reading remote statuses";
  Query q(statement(sql::kRemotes, p), p);
  std::vector<RemoteStatus> out;
  while (q.next()) out.push_back({q.text(0), q.text(1), q.i64(2) != 0, q.text(3), q.i64(4)});
  return out;
}

void Db::set_remote_status(const RemoteStatus& s) {
  const char* p = "recording a remote status";
  Query(statement(sql::kSetRemote, p), p)
      .bind(s.project, s.remote, s.ok, s.message, s.checked_at)
      .run();
}

void Db::retain_remotes(const std::vector<std::pair<std::string, std::string>>& project_remotes) {
  std::set<std::pair<std::string, std::string>> keep(project_remotes.begin(),
                                                     project_remotes.end());
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(db_)) own.emplace(*this);
  std::vector<std::pair<std::string, std::string>> gone;
  {
    const char* p = "listing known remotes";
    Query q(statement(sql::kKnownRemotes, p), p);
    while (q.next())
      if (!keep.count({q.text(0), q.text(1)})) gone.emplace_back(q.text(0), q.text(1));
  }
  const char* p = "forgetting an unconfigured remote";
  for (auto& [project, remote] : gone) {
    Query(statement(sql::kDeleteRemote, p), p).bind(project, remote).run();
    Query(statement(sql::kDeleteRemoteBranches, p), p).bind(project, remote).run();
  }
  if (own) own->commit();
}

std::vector<BranchHead> Db::branches() {
  const char* p = "reading branches";
  Query q(statement(sql::kBranches, p), p);
  std::vector<BranchHead> out;
  while (q.next()) out.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.i64(4), q.i64(5)});
  return out;
}

void Db::replace_branches(const std::string& project, const std::string& remote,
                          const std::vector<BranchHead>& heads, Time now) {
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(db_)) own.emplace(*this);
  std::unordered_map<std::string, std::pair<std::string, Time>> known;  // name -> rev, time
  {
    const char* p = "reading a remote's branches";
    Query q(statement(sql::kRemoteBranches, p), p);
    q.bind(project, remote);
    while (q.next()) known.emplace(q.text(0), std::pair(q.text(1), q.i64(2)));
  }
  std::unordered_map<std::string, const BranchHead*> wanted;  // the last duplicate wins
  for (auto& h : heads) wanted[h.branch] = &h;

  const char* p = "recording a remote's branches";
  for (auto& [name, old] : known)
    if (!wanted.count(name))
      Query(statement(sql::kDeleteBranch, p), p).bind(project, remote, name).run();
  for (auto& [name, h] : wanted) {
    auto it = known.find(name);
    if (it == known.end()) {
      Query(statement(sql::kInsertBranch, p), p)
          .bind(project, remote, name, h->rev, h->commit_time, now)
          .run();
    } else if (it->second != std::pair(h->rev, h->commit_time)) {
      bool moved = it->second.first != h->rev;
      Query(statement(sql::kUpdateBranch, p), p)
          .bind(h->rev, h->commit_time, moved, now, project, remote, name)
          .run();
    }
  }
  if (own) own->commit();
}

// --- groups ---

std::vector<GroupRecord> Db::groups() {
  const char* p = "reading groups";
  Query q(statement(sql::kGroups, p), p);
  std::vector<GroupRecord> out;
  while (q.next()) {
    GroupRecord g{q.text(0), q.text(1), q.i64(2) != 0, q.i64(3) != 0, {}, q.i64(5), q.i64(6)};
    std::string what = fmt::format("runbot.db: warnings of group '{}'", g.name);
    for (auto& w : parse_array(q.text(4), what)) {
      if (!w.is_string()) throw DbError(what + " holds a non-string");
      g.warnings.push_back(w.get<std::string>());
    }
    out.push_back(std::move(g));
  }
  return out;
}

void Db::upsert_group(const GroupRecord& g) {
  const char* p = "recording a group";
  Query(statement(sql::kUpsertGroup, p), p)
      .bind(g.name, g.base, g.is_base, g.deleted, dump(json(g.warnings)), g.first_seen,
            g.last_activity)
      .run();
}

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

void Db::for_each_job_newest_first(const std::function<bool(Job&&)>& each) {
  const char* p = "reading jobs";
  Query q(statement(sql::kJobsNewestFirst, p), p);
  while (q.next())
    if (!each(read_job(q))) break;
}

std::map<std::string, std::vector<int64_t>> Db::job_ids_by_group() {
  const char* p = "reading the jobs of each group";
  Query q(statement(sql::kJobIdsByGroup, p), p);
  std::map<std::string, std::vector<int64_t>> out;
  while (q.next()) out[q.text(0)].push_back(q.i64(1));
  return out;
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
  Query(statement(sql::kMarkCollected, p), p).bind(id).run();
}

void Db::delete_job(int64_t id) {
  const char* p = "deleting a job";
  Query(statement(sql::kDeleteJob, p), p).bind(id).run();
}

void Db::delete_all_jobs() {
  const char* p = "deleting all jobs";
  Query(statement(sql::kDeleteAllJobs, p), p).run();
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
