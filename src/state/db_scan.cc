// Db: what the scan records: remotes' statuses, branch heads, groups (state/db.h).
#include <fmt/core.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "state/db.h"
#include "state/db_query.h"

namespace runbot {

namespace {

using nlohmann::json;
using namespace db_query;

namespace sql {
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
}  // namespace sql

}  // namespace

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

}  // namespace runbot
