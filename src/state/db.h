// runbot.db: the one place that knows SQL. Schema versioned through PRAGMA user_version with
// forward migrations; WAL mode; prepared statements. SQLite failures throw DbError (they are
// not part of normal operation) and are reported once by main.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "model.h"

struct sqlite3;
struct sqlite3_stmt;

namespace runbot {

struct DbError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Last fetch outcome of one remote of one project.
struct RemoteStatus {
  std::string project;
  std::string remote;
  bool ok = true;
  std::string message;  // fetch error when !ok
  Time checked_at = 0;
};

// A group as remembered between ticks (for deleted detection, activity order, warnings).
struct GroupRecord {
  std::string name;
  std::string base;
  bool is_base = false;
  bool deleted = false;
  std::vector<std::string> warnings;
  Time first_seen = 0;
  Time last_activity = 0;  // newest job creation or branch change
};

// One row of the errors table (SPEC "Build errors"): a fingerprint across every job.
struct ErrorRecord {
  std::string fingerprint;
  std::string sample;  // the text of its first occurrence
  std::string step;
  int64_t first_job = 0;
  int64_t last_job = 0;
  int64_t jobs = 0;   // jobs it was seen in
  int64_t flaky = 0;  // of which its class is flaky
  std::vector<std::pair<std::string, int64_t>>
      groups;               // group, its newest job with it; newest first
  int64_t group_count = 0;  // all its groups (`groups` may hold only the newest)
};

// Where else an error was seen: a job and its group.
struct ErrorSighting {
  int64_t job = 0;
  std::string group;
};

// A job as the site reads it: the row (its revisions left as the stored JSON text, for
// Db::parse_revisions() on whichever thread renders it), its change stamp and its history place.
struct JobRow {
  Job job;                // revisions empty: see `revisions`
  std::string revisions;  // as stored
  int64_t changed = 0;    // the change counter's value when the row last changed
  int64_t place = 0;      // its place in the history (1, 2, ...); 0 while it is current
};

// What the site rendered for a current job, and from which version of its row.
struct SiteCache {
  int64_t changed = 0;  // JobRow::changed it was rendered from
  std::string line;     // its status.json object
  std::string cell;     // its index card cell
  std::string mini;     // its compact index cell
};

// A current job as the index and status.json place it: enough to order, group and colour it,
// plus the cache when it is still valid (rendered from the row as it is).
struct CurrentJob {
  int64_t id = 0;
  std::string group;
  JobState state = JobState::pending;
  std::optional<JobResult> result;
  int64_t changed = 0;
  std::optional<SiteCache> cache;  // only when cache->changed == changed
};

class Db {
 public:
  static constexpr int kSchemaVersion = 6;

  // Opens (creating if needed) and migrates the database. Throws DbError.
  static std::unique_ptr<Db> open(const std::filesystem::path& file);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  int schema_version();

  // Explicit transactions; Transaction rolls back unless committed. A `read` one takes no
  // write lock: every read in its scope sees one snapshot of the file (WAL), whatever a tick
  // commits meanwhile.
  class Transaction {
   public:
    enum Kind { write, read };
    explicit Transaction(Db& db, Kind kind = write);
    ~Transaction();
    void commit();

   private:
    Db& db_;
    bool done_ = false;
  };

  // --- job-id sequence (never reset except by deleting the file) ---
  int64_t next_job_id();
  // Raises the sequence to at least `value`; never lowers it.
  void raise_next_job_id(int64_t value);
  // Returns the next id and advances the sequence (call inside a transaction with the insert).
  int64_t allocate_job_id();

  // --- remotes and branches ---
  std::vector<RemoteStatus> remote_statuses();
  void set_remote_status(const RemoteStatus& s);
  // Forgets remotes (and their branches) that are no longer configured.
  void retain_remotes(const std::vector<std::pair<std::string, std::string>>& project_remotes);
  std::vector<BranchHead> branches();
  // Replaces the branch set of one remote with `heads`; a branch whose rev is unchanged keeps
  // its seen_at, a new or moved one gets `now`.
  void replace_branches(const std::string& project, const std::string& remote,
                        const std::vector<BranchHead>& heads, Time now);

  // --- groups ---
  std::vector<GroupRecord> groups();
  void upsert_group(const GroupRecord& g);

  // --- jobs ---
  void insert_job(const Job& job);
  void update_job(const Job& job);  // every field but id
  std::optional<Job> job(int64_t id);
  std::vector<Job> jobs();  // all, id ascending
  // Stored revisions -> their list; throws DbError (naming the job) if they are not sound.
  static std::vector<Revision> parse_revisions(const std::string& text, int64_t job_id);
  std::vector<Job> jobs_in_states(const std::vector<JobState>& states);
  std::vector<Job> jobs_of_group(const std::string& group);  // id ascending
  // The newest job of each group plus every pending or building one: what planning reads.
  std::vector<Job> jobs_for_planning();
  // A counter that every change to jobs, groups or remote health advances (by triggers).
  int64_t change_count();
  // Ids of jobs inserted or updated after change counter value `change`.
  std::vector<int64_t> jobs_changed_since(int64_t change);
  // Done, unpinned, not yet collected jobs beyond the newest `keep_per_group` of their group.
  std::vector<int64_t> jobs_to_collect(int keep_per_group);
  void mark_collected(int64_t id);
  void delete_job(int64_t id);
  void delete_all_jobs();

  // --- build errors (db_errors.cc); kept consistent with jobs by triggers: deleting a job
  // (clean) removes its errors and updates the errors table ---
  // Records that `job` (of `group`) had the error `fingerprint` with class `cls`.
  void insert_job_error(int64_t job, const std::string& group, const std::string& fingerprint,
                        const std::string& cls, const std::string& step, const std::string& text);
  bool has_job_errors(int64_t job);
  // Another job that had `fingerprint`: base groups first, then the newest.
  std::optional<ErrorSighting> error_seen_elsewhere(const std::string& fingerprint, int64_t job);
  // The newest other job with the same job fingerprint that ended ok or warn.
  std::optional<int64_t> passing_twin(const std::string& job_fingerprint, int64_t job);
  // Jobs with the same job fingerprint (but `job`) holding errors whose class is not flaky.
  std::vector<int64_t> jobs_with_unflaky_errors(const std::string& job_fingerprint, int64_t job);
  void make_job_errors_flaky(int64_t job);
  // The errors table, last seen first; at most `limit` rows and `max_groups` groups each (0: all).
  std::vector<ErrorRecord> errors(size_t limit = 0, size_t max_groups = 0);
  int64_t error_count();
  // --- the site's reads (db_site.cc): current jobs, history, group pages, its cache ---
  // Every current (not collected) job, newest first, with its valid cache entry (its card
  // cell "" unless `cards`: big indexes have none).
  void for_each_current_job(const std::function<void(CurrentJob&&)>& each, bool cards = true);
  // Rows, newest first, until `each` returns false: every job (`current_only` false) or the
  // current ones.
  void for_each_job_row(bool current_only, const std::function<bool(JobRow&&)>& each);
  std::optional<JobRow> job_row(int64_t id);
  // Rows with ids below `below`, newest first, at most `limit`.
  std::vector<JobRow> job_rows_below(int64_t below, size_t limit);
  // Rows whose history place is in [first, last], id ascending.
  std::vector<JobRow> history_rows(int64_t first, int64_t last);
  // How many jobs have a history place (the places are 1..history_size()).
  int64_t history_size();
  // Gives a place to collected jobs that have none (rows written by older versions or tools).
  void place_collected_jobs();
  // A group's jobs, id ascending, from the `offset`-th (0 = its oldest), at most `limit`.
  std::vector<JobRow> group_rows(const std::string& group, int64_t offset, size_t limit);
  int64_t group_job_count(const std::string& group);
  // How many of the group's jobs are older than job `id`: its position in the group.
  int64_t group_job_position(const std::string& group, int64_t id);
  int64_t groups_count();
  // Every group's current job ids, newest first.
  std::map<std::string, std::vector<int64_t>> current_job_ids_by_group();
  // Jobs per state, over the whole history (one index scan).
  std::map<JobState, int64_t> job_counts();
  void put_site_cache(int64_t id, const SiteCache& entry);
  void drop_site_cache(int64_t id);
  void clear_site_cache();
  // Changes whenever the errors table does (count, jobs, classes, newest job).
  std::string errors_signature();

  // --- key/value (site bookkeeping, etc.) ---
  std::optional<std::string> meta(const std::string& key);
  void set_meta(const std::string& key, const std::string& value);

  sqlite3* handle() { return db_; }

 private:
  explicit Db(sqlite3* db);
  void exec(const char* sql);
  void migrate();
  // Runs SQL without results; failures name `purpose`.
  void exec(const char* sql, const char* purpose);
  // The prepared statement for `sql`, prepared once per Db and cached until ~Db.
  sqlite3_stmt* statement(const std::string& sql, const char* purpose);
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace runbot
