#include "state/state.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace runbot {

namespace fs = std::filesystem;

std::optional<int> open_state(const Paths& paths, Lock lock, State& out) {
  if (auto failed = open_config(paths, out)) return failed;
  return open_locked(paths, lock, out);
}

std::optional<int> open_config(const Paths& paths, State& out) {
  std::error_code ec;
  if (!fs::exists(paths.config(), ec)) {
    fmt::print(stderr,
               "openerp-runbot: no runbot.toml in {} (run 'openerp-runbot --dir {} init')\n",
               paths.root.string(), paths.root.string());
    return 2;
  }
  auto config = load_config(paths.config());
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 2;
  }
  out.config = std::move(*config);
  return std::nullopt;
}

std::optional<int> open_locked(const Paths& paths, Lock lock, State& out) {
  if (lock != Lock::none) {
    auto locked = LockFile::lock(paths.lock(), lock == Lock::wait, out.lock);
    if (!locked) {
      fmt::print(stderr, "openerp-runbot: {}\n", locked.error().message);
      return 1;
    }
    if (*locked == LockFile::Outcome::busy) {
      fmt::print("another tick is running (tick.lock is held); nothing to do\n");
      return 0;
    }
  }
  if (auto st = ensure_layout(paths); !st) {
    fmt::print(stderr, "openerp-runbot: {}\n", st.error().message);
    return 1;
  }
  out.db = Db::open(paths.db());
  return std::nullopt;
}

Status ensure_layout(const Paths& paths) {
  for (const auto& dir : {paths.root, paths.repos(), paths.jobs(), paths.www(), paths.nginx()}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  return {};
}

std::unique_ptr<Db> memory_copy(Db& db) {
  auto copy = Db::open(":memory:");
  sqlite3_backup* b = sqlite3_backup_init(copy->handle(), "main", db.handle(), "main");
  if (!b)
    throw DbError(fmt::format("cannot copy the database: {}", sqlite3_errmsg(copy->handle())));
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    throw DbError(fmt::format("cannot copy the database: {}", sqlite3_errstr(rc)));
  return copy;
}

}  // namespace runbot
