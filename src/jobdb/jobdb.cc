#include "jobdb/jobdb.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include "jobdb/postgres.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "runbot_";

// The job id of a name that is exactly runbot_<id> as job_database_name() writes it (no
// leading zero, fits int64); nullopt for every other name, matching or not.
std::optional<int64_t> canonical_id(std::string_view name) {
  if (!is_job_database_name(name)) return std::nullopt;
  std::string_view digits = name.substr(kPrefix.size());
  int64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  if (job_database_name(id) != name) return std::nullopt;
  return id;
}

// SQLite: one folder per job, jobs/<id>/db/, holding runbot_<id>.sqlite.
class SqliteDatabase : public JobDatabase {
 public:
  explicit SqliteDatabase(fs::path jobs) : jobs_(std::move(jobs)) {}

  Status create(int64_t id) override {
    fs::path dir = folder(std::to_string(id));
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
    return {};
  }

  Result<std::vector<std::string>> list_runbot_databases() override {
    std::vector<std::string> names;
    std::error_code ec;
    if (!fs::exists(jobs_, ec)) return names;
    fs::directory_iterator it(jobs_, ec), end;
    if (ec) return Error{fmt::format("cannot list {}: {}", jobs_.string(), ec.message())};
    for (; it != end; it.increment(ec)) {
      std::string name = std::string(kPrefix) + it->path().filename().string();
      if (is_job_database_name(name) && fs::is_directory(it->path() / "db", ec))
        names.push_back(name);
    }
    if (ec) return Error{fmt::format("cannot list {}: {}", jobs_.string(), ec.message())};
    std::sort(names.begin(), names.end());
    return names;
  }

  std::map<std::string, std::string> env(int64_t id) const override {
    std::string file = (folder(std::to_string(id)) / (job_database_name(id) + ".sqlite")).string();
    return {{"RUNBOT_DB", file}, {"RUNBOT_DB_URL", "sqlite:///" + file}};
  }

 protected:
  Status drop_named(const std::string& name) override {
    fs::path dir = folder(name.substr(kPrefix.size()));
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return Error{fmt::format("cannot remove {}: {}", dir.string(), ec.message())};
    return {};
  }

 private:
  fs::path folder(const std::string& id) const { return jobs_ / id / "db"; }
  fs::path jobs_;
};

}  // namespace

Result<std::vector<std::string>> JobDatabase::sweep(const std::set<int64_t>& kept_ids) {
  auto names = list_runbot_databases();
  if (!names) return names.error();
  std::vector<std::string> dropped;
  for (const std::string& name : *names) {
    if (!is_job_database_name(name)) continue;  // a broken lister must not widen the sweep
    if (auto id = canonical_id(name); id && kept_ids.count(*id)) continue;
    if (auto st = drop_named(name); !st)
      return Error{fmt::format("cannot drop {}: {}", name, st.error().message)};
    dropped.push_back(name);
  }
  return dropped;
}

Result<std::unique_ptr<JobDatabase>> make_job_database(const DatabaseConfig& config,
                                                       const Paths& paths) {
  if (config.kind == "sqlite") {
    std::error_code ec;
    fs::path jobs = fs::absolute(paths.jobs(), ec);
    return std::unique_ptr<JobDatabase>(new SqliteDatabase(ec ? paths.jobs() : jobs));
  }
  if (config.kind == "postgresql") {
    DatabaseConfig resolved = config;  // a relative dump is relative to the state dir
    if (!resolved.dump.empty() && fs::path(resolved.dump).is_relative())
      resolved.dump = (paths.root / resolved.dump).string();
    return make_postgres_database(resolved, paths);
  }
  return Error{fmt::format("unknown database kind \"{}\" (expected \"sqlite\" or \"postgresql\")",
                           config.kind)};
}

Status drop_job_database(const DatabaseConfig& config, const Paths& paths, int64_t id) {
  auto database = make_job_database(config, paths);
  if (!database) return database.error();
  if (auto st = (*database)->drop(id); !st)
    return Error{fmt::format("database {}: {}", job_database_name(id), st.error().message)};
  return {};
}

Result<std::vector<std::string>> drop_all_job_databases(const DatabaseConfig& config,
                                                        const Paths& paths) {
  auto database = make_job_database(config, paths);
  if (!database) return database.error();
  return (*database)->sweep({});
}

}  // namespace runbot
