// status: what the runbot knows, at a glance (text) or as status.json's document (--json).
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "exec/confined.h"
#include "site/status_json.h"
#include "tick/publish.h"
#include "util/clock.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// Groups (base first, then by activity), their newest jobs, remote warnings.
std::string status_text(const Config& config, const Paths& paths, Db& db) {
  std::vector<Job> jobs = db.jobs();
  std::map<std::string, std::vector<const Job*>> by_group;
  std::map<JobState, int> counts;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    by_group[it->group].push_back(&*it);
    counts[it->state]++;
  }
  std::string out = fmt::format(
      "{}: {} projects, {} jobs ({} pending, {} building, {} running), next job id {}\n",
      paths.root.string(), config.projects.size(), jobs.size(), counts[JobState::pending],
      counts[JobState::building], counts[JobState::running], db.next_job_id());
  out += fmt::format("{}sandbox: {}\n", config.sandbox.confined() ? "" : "warning: ",
                     sandbox_summary(config.sandbox));
  for (const RemoteStatus& r : db.remote_statuses())
    if (!r.ok)
      out += fmt::format("warning: {}: fetch of {} failed: {}\n", r.project, r.remote, r.message);
  Time t = now();
  for (const GroupRecord& g : ordered_groups(config, db.groups())) {
    out += fmt::format("\n{}{}{}\n", g.name, g.is_base ? " [base]" : "",
                       g.deleted ? " [deleted]" : "");
    for (const auto& w : g.warnings) out += fmt::format("  warning: {}\n", w);
    int shown = 0;
    for (const Job* j : by_group[g.name]) {
      if (++shown > 5) break;
      std::string result = j->result ? std::string(to_string(*j->result)) : "-";
      std::string extra =
          j->state == JobState::running && j->port ? "  " + instance_url(config.runbot, j->id) : "";
      out += fmt::format("  #{:<6} {:<8} {:<7} {:>6}s ago  {}{}{}{}\n", j->id, to_string(j->state),
                         result, t - j->created_at, j->reason, j->note.empty() ? "" : " / ",
                         j->note, extra);
    }
  }
  return out;
}

}  // namespace

int cmd_status(const Paths& paths, bool json) {
  auto config = load_config(paths.config());
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 2;
  }
  std::error_code ec;
  if (!fs::exists(paths.db(), ec)) {
    fmt::print(stderr, "openerp-runbot: no runbot.db in {} (run init first)\n",
               paths.root.string());
    return 1;
  }
  auto db = Db::open(paths.db());
  Db::Transaction snapshot(*db, Db::Transaction::read);  // groups and jobs from one moment
  if (json) {
    StatusSource source = status_source(*config, paths, *db);
    Time stamp = content_changed_at(paths, *db, now());
    auto printed = write_status_json(source, stamp, [](std::string_view text) -> Status {
      std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
      return {};
    });
    if (!printed) {
      fmt::print(stderr, "openerp-runbot: {}\n", printed.error().message);
      return 1;
    }
  } else {
    std::cout << status_text(*config, paths, *db);
  }
  return 0;
}

}  // namespace runbot
