#include "tick/publish.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "exec/executor.h"
#include "site/errors_page.h"
#include "site/nginx.h"
#include "site/site.h"
#include "site/status_json.h"
#include "util/atomic_file.h"
#include "util/clock.h"

namespace runbot {

namespace {
constexpr const char* kPublishedKey = "published_change";
// The boot in which www/ was last written without a sync ("" once synced). The site is
// regenerable, so a publish leaves its files in the page cache instead of waiting for the
// disk (a full site is 21,000 files): a process crash cannot lose them. After a reboot the
// kernel may have lost some, so a different boot id here means "republish everything, and
// compare every file".
constexpr const char* kUnsyncedBootKey = "published_unsynced_boot";
}  // namespace

PublishOutcome publish(const Config& config, const Paths& paths, Db& db, Time now) {
  PublishOutcome out;
  // Work from what changed since the last publish: nothing => nothing to do at all.
  int64_t change = db.change_count();
  auto published = db.meta(kPublishedKey);
  auto unsynced = db.meta(kUnsyncedBootKey);
  auto boot = boot_id();
  bool rebooted = unsynced && !unsynced->empty() && unsynced != boot;
  std::error_code ec;
  bool complete = published && !rebooted &&
                  std::filesystem::exists(paths.www() / "status.json", ec) &&
                  std::filesystem::exists(paths.www() / "job", ec) &&
                  std::filesystem::exists(paths.nginx() / "runbot.conf", ec);
  // Nothing changed, no full render under way and the same templates and configuration:
  // nothing to do at all.
  if (complete && *published == std::to_string(change) && site_is_current(config, paths, db))
    return out;

  std::optional<std::set<int64_t>> dirty;
  if (complete) {
    auto ids = db.jobs_changed_since(std::stoll(*published) - 1);
    dirty.emplace(ids.begin(), ids.end());
  }
  // Recorded before writing: files written now are unsynced until a reboot proves otherwise.
  if (boot && unsynced != boot) db.set_meta(kUnsyncedBootKey, *boot);
  Result<PublishResult> site = Error{""};
  try {
    site = publish_site(config, paths, db, now, dirty ? &*dirty : nullptr,
                        {boot ? Sync::later : Sync::now});
  } catch (const DbError& e) {
    site = Error{e.what()};
  }
  if (site) {
    out.written = site->written;
    out.full_render_done = site->complete;
  } else {
    out.errors.push_back(fmt::format("site: {}", site.error().message));
  }
  if (auto st = publish_errors_page(paths, db, boot ? Sync::later : Sync::now); !st)
    out.errors.push_back(fmt::format("errors page: {}", st.error().message));

  std::vector<std::pair<int64_t, std::string>> live;
  Executors executors(config, paths);
  for (const Job& j : db.jobs_in_states({JobState::running}))
    if (Executor* e = executors.of(j); e && j.port) live.emplace_back(j.id, e->instance_address(j));
  auto conf = render_nginx_conf_to(config, paths, live);
  if (!conf) {
    out.errors.push_back(fmt::format("nginx: {}", conf.error().message));
    return out;
  }
  const size_t actions = out.nginx.size();
  if (auto st = apply_nginx(config, paths, *conf, out.nginx); !st) {
    out.errors.push_back(fmt::format("nginx: {}", st.error().message));
  } else if (out.nginx.size() > actions) {
    // nginx (re)started or reloaded: its old workers may still answer for a moment, without
    // the new vhosts (404). The tick ends when every host of the config answers its generation.
    std::vector<std::string> hosts{config.runbot.domain};
    for (const auto& [id, port] : live)
      hosts.push_back(fmt::format("{}.{}", id, config.runbot.domain));
    if (auto st = wait_for_generation(config, paths, hosts, nginx_conf_generation(*conf),
                                      std::chrono::seconds(5));
        !st)
      out.nginx.push_back("warning: " + st.error().message);
  }
  // Only a complete publish is remembered, so a failed one is retried at the next tick.
  if (out.errors.empty()) db.set_meta(kPublishedKey, std::to_string(change));
  // Without a boot id the site was synced: no reboot can have lost it.
  if (!boot && out.errors.empty() && unsynced && !unsynced->empty())
    db.set_meta(kUnsyncedBootKey, "");
  return out;
}

Time content_changed_at(const Paths& paths, Db& db, Time now) {
  auto published = db.meta(kPublishedKey);
  if (!published || *published != std::to_string(db.change_count())) return now;
  std::ifstream in(paths.www() / "status.json", std::ios::binary);
  std::string head(StatusJsonWriter::kUpdatedAtOffset + StatusJsonWriter::kUpdatedAtSize, '\0');
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size()))) return now;
  auto stamp = parse_iso8601(head.substr(StatusJsonWriter::kUpdatedAtOffset));
  return stamp ? *stamp : now;
}

}  // namespace runbot
