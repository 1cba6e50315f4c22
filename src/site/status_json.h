// status.json (SPEC "Site"): the groups and the current jobs; older jobs in history/<n>.json
// pages of at most 1,000 jobs. Everything here is read from the DB and written by JsonWriter.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "site/job_facts.h"
#include "state/db.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// A group as status.json, the index and its page show it.
struct GroupFacts {
  std::string name;   // as stored (bytes): the DB's key and group_key()'s input
  std::string label;  // the name as valid UTF-8, for pages
  std::string base;   // valid UTF-8
  bool is_base = false;
  bool deleted = false;
  std::vector<std::string> warnings;
  Time last_activity = 0;
  std::string badge;          // badge_path()
  std::string page;           // group_page_path()
  std::vector<int64_t> jobs;  // its current jobs, newest first
};

// status.json's parts other than the jobs: small, whatever the history.
struct StatusHead {
  int64_t next_job_id = 0;
  std::vector<GroupFacts> groups;  // ordered_groups()
  std::vector<RemoteStatus> remotes;
  int64_t history_pages = 0;  // history/1.json .. history/<n>.json
};

constexpr int64_t kHistoryPageJobs = 1000;
// "history/<n>.json".
std::string history_path(int64_t n);
// The page holding history place `place` (1-based).
inline int64_t history_page_of(int64_t place) { return (place - 1) / kHistoryPageJobs + 1; }
inline int64_t history_pages(int64_t places) {
  return (places + kHistoryPageJobs - 1) / kHistoryPageJobs;
}

// `current`: the current jobs when the caller has read them already (else they are read).
StatusHead status_head(const Config& config, Db& db,
                       const std::vector<CurrentJob>* current = nullptr);

// Base groups first (in config order), then the others by last activity, newest first: the
// order of status.json, the index and `status`.
std::vector<GroupRecord> ordered_groups(const Config& config, std::vector<GroupRecord> groups);

// Writes status.json's text piece by piece: begin(), job() for each job (its line from
// job_line(), or cached), end(). One job per line; "updated_at" always sits at
// kUpdatedAtOffset, so two texts can be compared without it.
class StatusJsonWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  static constexpr size_t kUpdatedAtOffset = 30;  // after {"version": 1, "updated_at": "
  static constexpr size_t kUpdatedAtSize = 20;    // 2026-11-24T12:00:00Z

  explicit StatusJsonWriter(Sink sink) : sink_(std::move(sink)) {}
  Status begin(Time updated_at, const StatusHead& head);
  Status job(std::string_view line);
  Status end(const StatusHead& head);

 private:
  Sink sink_;
  bool first_job_ = true;
};

// The whole document (updated_at = `stamp`) through `sink`, jobs newest first: what
// `status --json` prints; with `all`, every job of the history instead of the current ones.
Status write_status_json(const Config& config, const Paths& paths, Db& db, Time stamp, bool all,
                         const StatusJsonWriter::Sink& sink);

// A history page's text: {"version": 1, "jobs": [...]} with one job line per line, in order.
std::string history_page_text(const std::vector<std::string>& lines);

}  // namespace runbot
