#include "site/status_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "site/json_writer.h"
#include "site/names.h"
#include "util/clock.h"

namespace runbot {

std::string history_path(int64_t n) { return fmt::format("history/{}.json", n); }

std::vector<GroupRecord> ordered_groups(const Config& config, std::vector<GroupRecord> groups) {
  std::map<std::string, size_t> base_rank;
  for (const auto& p : config.projects)
    for (const auto& b : p.base_branches) base_rank.emplace(b, base_rank.size());
  auto key = [&](const GroupRecord& g) {
    auto it = base_rank.find(g.name);
    size_t rank = g.is_base && it != base_rank.end() ? it->second : base_rank.size();
    return std::tuple(g.is_base ? 0 : 1, rank, -g.last_activity, g.name);
  };
  std::sort(groups.begin(), groups.end(),
            [&](const GroupRecord& a, const GroupRecord& b) { return key(a) < key(b); });
  return groups;
}

StatusHead status_head(const Config& config, Db& db, const std::vector<CurrentJob>* current) {
  StatusHead head;
  head.next_job_id = db.next_job_id();
  std::map<std::string, std::vector<int64_t>> ids;
  if (current)
    for (const CurrentJob& j : *current) ids[j.group].push_back(j.id);
  else
    ids = db.current_job_ids_by_group();
  for (GroupRecord& g : ordered_groups(config, db.groups())) {
    GroupFacts f;
    f.name = g.name;
    f.label = valid_utf8(g.name);
    f.base = valid_utf8(g.base);
    f.is_base = g.is_base;
    f.deleted = g.deleted;
    for (const std::string& w : g.warnings) f.warnings.push_back(valid_utf8(w));
    f.last_activity = g.last_activity;
    f.badge = badge_path(g.name);
    f.page = group_page_path(g.name);
    if (auto it = ids.find(g.name); it != ids.end()) f.jobs = std::move(it->second);
    head.groups.push_back(std::move(f));
  }
  head.remotes = db.remote_statuses();
  head.history_pages = history_pages(db.history_size());
  return head;
}

Status StatusJsonWriter::begin(Time updated_at, const StatusHead& head) {
  std::string text = fmt::format(R"({{"version": 1, "updated_at": "{}", "next_job_id": {},)",
                                 iso8601(updated_at), head.next_job_id);
  JsonWriter w(text);
  text += "\n \"history\": ";
  w.begin_array();
  for (int64_t n = 1; n <= head.history_pages; ++n) w.value(history_path(n));
  w.end_array();
  text += ",\n \"groups\": [";
  for (size_t i = 0; i < head.groups.size(); ++i) {
    const GroupFacts& g = head.groups[i];
    text += i ? ",\n  " : "\n  ";
    JsonWriter group(text);
    group.begin_object().field("name", g.name).field("base", g.base);
    group.field("is_base", g.is_base).field("deleted", g.deleted);
    group.key("warnings").begin_array();
    for (const std::string& warning : g.warnings) group.value(warning);
    group.end_array();
    group.key("last_activity").text_or_null(iso8601(g.last_activity));
    group.field("badge", g.badge).field("page", g.page);
    group.key("jobs").begin_array();
    for (int64_t id : g.jobs) group.value(id);
    group.end_array().end_object();
  }
  text += "],\n \"jobs\": [";
  return sink_(text);
}

Status StatusJsonWriter::job(std::string_view line) {
  Status st = sink_(first_job_ ? "\n  " : ",\n  ");
  first_job_ = false;
  return st ? sink_(line) : st;
}

Status StatusJsonWriter::end(const StatusHead& head) {
  // No fetch time in the remotes: it changes every tick, and an idle tick must rewrite nothing.
  std::string text = "],\n \"remotes\": ";
  JsonWriter w(text);
  w.begin_array();
  for (const RemoteStatus& r : head.remotes)
    w.begin_object()
        .field("project", valid_utf8(r.project))
        .field("remote", valid_utf8(r.remote))
        .field("ok", r.ok)
        .field("message", valid_utf8(r.message))
        .end_object();
  w.end_array();
  text += "}\n";
  return sink_(text);
}

Status write_status_json(const Config& config, const Paths& paths, Db& db, Time stamp, bool all,
                         const StatusJsonWriter::Sink& sink) {
  StatusHead head = status_head(config, db);
  StatusJsonWriter writer(sink);
  if (auto st = writer.begin(stamp, head); !st) return st;
  Status status;
  db.for_each_job_row(!all, [&](JobRow&& row) {
    status = writer.job(job_line(job_facts(config, paths, row)));
    return status.ok();
  });
  if (!status) return status;
  return writer.end(head);
}

std::string history_page_text(const std::vector<std::string>& lines) {
  std::string text = "{\"version\": 1, \"jobs\": [";
  for (size_t i = 0; i < lines.size(); ++i) {
    text += i ? ",\n  " : "\n  ";
    text += lines[i];
  }
  text += "]}\n";
  return text;
}

}  // namespace runbot
