// status: what the runbot knows, at a glance (text) or as status.json's document (--json).
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "exec/confined.h"
#include "site/full_render.h"
#include "site/status_json.h"
#include "tick/publish.h"
#include "util/clock.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// Groups (base first, then by activity), their newest jobs, remote warnings. Reads the
// current jobs only (and one count over the history), so it answers at once at any history.
std::string status_text(const Config& config, const Paths& paths, Db& db) {
  std::map<std::string, std::vector<JobRow>> by_group;  // newest first
  db.for_each_job_row(true, [&](JobRow&& row) {
    auto& list = by_group[row.job.group];
    if (list.size() < 5) list.push_back(std::move(row));
    return true;
  });
  std::map<JobState, int64_t> counts = db.job_counts();
  int64_t total = 0;
  for (const auto& [state, n] : counts) total += n;
  std::string out = fmt::format(
      "{}: {} projects, {} jobs ({} pending, {} building, {} running), next job id {}\n",
      paths.root.string(), config.projects.size(), total, counts[JobState::pending],
      counts[JobState::building], counts[JobState::running], db.next_job_id());
  out += fmt::format("{}sandbox: {}\n",
                     config.sandbox.confined() ? "" : "warning: ", sandbox_summary(config.sandbox));
  if (auto render = full_render_in_progress(db))
    out += fmt::format("site: full render in progress ({} jobs rendered so far)\n", render->jobs);
  for (const RemoteStatus& r : db.remote_statuses())
    if (!r.ok)
      out += fmt::format("warning: {}: fetch of {} failed: {}\n", r.project, r.remote, r.message);
  Time t = now();
  for (const GroupRecord& g : ordered_groups(config, db.groups())) {
    out += fmt::format("\n{}{}{}\n", g.name, g.is_base ? " [base]" : "",
                       g.deleted ? " [deleted]" : "");
    for (const auto& w : g.warnings) out += fmt::format("  warning: {}\n", w);
    for (const JobRow& row : by_group[g.name]) {
      const Job* j = &row.job;
      std::string result = j->result ? std::string(to_string(*j->result)) : "-";
      std::string extra =
          j->state == JobState::running && j->port ? "  " + instance_url(config.runbot, j->id) : "";
      // Where it runs (SPEC "Executors"): "[slurm 1234 on node1]", "[local on host]".
      if (j->state == JobState::building || j->state == JobState::running)
        extra += fmt::format("  [{}{}{}{}]", j->executor,
                             j->executor_id.empty() ? "" : " " + j->executor_id,
                             j->host.empty() ? "" : " on ", j->host);
      out += fmt::format("  #{:<6} {:<8} {:<7} {:>6}s ago  {}{}{}{}\n", j->id, to_string(j->state),
                         result, t - j->created_at, j->reason, j->note.empty() ? "" : " / ",
                         j->note, extra);
    }
  }
  return out;
}

}  // namespace

int cmd_status(const Paths& paths, bool json, bool all) {
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
    Time stamp = content_changed_at(paths, *db, now());
    Status printed;
    try {
      printed = write_status_json(*config, paths, *db, stamp, all, [](std::string_view text) {
        std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
        return std::cout ? Status{} : Status{Error{"cannot write to stdout"}};
      });
    } catch (const DbError& e) {
      printed = Error{e.what()};
    }
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
