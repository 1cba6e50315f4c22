#include "tick/gc.h"

#include <fmt/format.h>

#include <set>

#include "job/job_file.h"
#include "jobdb/jobdb.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSweptAt = "database.swept_at";

}  // namespace

std::vector<int64_t> collect_garbage(const Config& config, const Paths& paths, Db& db,
                                     std::vector<std::string>* warnings) {
  auto warn = [&](std::string message) {
    if (warnings) warnings->push_back(std::move(message));
  };
  std::vector<int64_t> removed;
  for (int64_t id : db.jobs_to_collect(config.runbot.keep_per_group)) {
    std::error_code ec;
    fs::path dir = paths.job(id);
    if (fs::exists(dir, ec)) {
      // Before the folder goes: job.json says which server the database is on.
      if (auto st = drop_job_database(database_config_of(dir, config.database), paths, id); !st)
        warn(fmt::format("job {}: {}", id, st.error().message));
      fs::remove_all(dir, ec);
      if (ec) {
        warn(fmt::format("job {}: cannot remove {}: {}", id, dir.string(), ec.message()));
        continue;
      }
      removed.push_back(id);
    }
    db.mark_collected(id);  // never looked at again
  }
  if (!removed.empty() && config.database.kind == "postgresql") {
    if (auto swept = sweep_orphan_databases(config, paths, db); !swept) warn(swept.error().message);
  }
  return removed;
}

Result<std::vector<std::string>> sweep_orphan_databases(const Config& config, const Paths& paths,
                                                        Db& db) {
  if (config.database.kind != "postgresql") return std::vector<std::string>{};
  auto database = make_job_database(config.database, paths);
  if (!database) return Error{fmt::format("database sweep: {}", database.error().message)};
  std::set<int64_t> kept;
  for (const Job& j : db.jobs()) {
    std::error_code ec;
    if (fs::exists(paths.job(j.id), ec) || ec) kept.insert(j.id);  // in doubt, keep
  }
  auto swept = (*database)->sweep(kept);
  if (!swept) return Error{fmt::format("database sweep: {}", swept.error().message)};
  return swept;
}

Result<std::vector<std::string>> sweep_orphan_databases_every(const Config& config,
                                                              const Paths& paths, Db& db, Time now,
                                                              int min_interval) {
  if (config.database.kind != "postgresql") return std::vector<std::string>{};
  if (auto last = db.meta(kSweptAt)) {
    Time at = 0;
    try {
      at = std::stoll(*last);
    } catch (const std::exception&) {
      at = 0;  // unreadable: sweep now and rewrite it
    }
    if (at <= now && now - at < min_interval) return std::vector<std::string>{};
  }
  // Recorded even when the sweep fails, so an unreachable server costs one attempt per interval.
  db.set_meta(kSweptAt, std::to_string(now));
  return sweep_orphan_databases(config, paths, db);
}

}  // namespace runbot
