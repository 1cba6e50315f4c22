#include "site/status_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "job/details.h"
#include "site/names.h"
#include "util/clock.h"

namespace runbot {

using nlohmann::json;

namespace {

json time_json(Time t) { return t ? json(iso8601(t)) : json(nullptr); }

// Invalid UTF-8 (branch names are bytes) is replaced rather than refused.
std::string compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// `s` as a JSON string, exactly as compact() writes it: printable ASCII is copied as is,
// anything else (escapes, UTF-8, invalid bytes) goes through nlohmann.
void append_string(std::string& out, const std::string& s) {
  bool plain = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += compact(json(s));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

void append_time(std::string& out, const std::string& iso) {
  if (iso.empty())
    out += "null";
  else
    append_string(out, iso);
}

// A row's status.json line (keys in the order a JSON object dump sorts them, so it equals
// the dump of the same job as an object) and, when asked, its facts.
StatusSource::Published publish_row(const Config& config, const Paths& paths,
                                    const StatusSource::Row& row, bool with_facts) {
  const Job& job = row.job;
  std::vector<Revision> revs = Db::parse_revisions(row.revisions, job.id);
  std::map<std::string_view, const Revision*> by_project;  // as in an object: the last one wins
  for (const Revision& r : revs) by_project[r.project] = &r;
  json details = json::object();
  if (!job.details.empty())
    details = json::parse(job.details, nullptr, false);
  else if (job.state == JobState::building)
    details = read_job_details(paths, job.id);
  if (!details.is_object()) details = json::object();
  auto steps = details.find("steps");
  auto coverage = details.find("coverage");
  auto errors = details.find("errors");

  std::vector<const Revision*> ordered;
  for (const auto& [project, r] : by_project) ordered.push_back(r);
  StatusSource::Published out;
  out.facts = row_facts(config, job, ordered, details, with_facts);
  const JobFacts& f = out.facts;
  bool live = f.port.has_value();

  std::string& l = out.line;
  l.reserve(512 + job.reason.size() + row.revisions.size() + job.details.size());
  l += "{\"coverage\":";
  l += coverage != details.end() ? compact(*coverage) : "null";
  l += ",\"created_at\":";
  append_time(l, f.created_at);
  l += ",\"errors\":";
  l += errors != details.end() && errors->is_array() ? compact(*errors) : "[]";
  l += ",\"finished_at\":";
  append_time(l, f.finished_at);
  l += ",\"group\":";
  append_string(l, job.group);
  l += fmt::format(",\"id\":{},\"manual\":{},\"note\":", job.id, job.manual);
  append_string(l, job.note);
  l += fmt::format(",\"pinned\":{},\"port\":", job.pinned);
  l += f.port ? std::to_string(*f.port) : "null";
  l += ",\"reason\":";
  append_string(l, job.reason);
  l += ",\"result\":";
  if (job.result)
    append_string(l, f.result);
  else
    l += "null";
  l += ",\"revisions\":{";
  bool first = true;
  for (const auto& [project, r] : by_project) {
    if (!first) l += ',';
    first = false;
    append_string(l, r->project);
    l += ":{\"branch\":";
    append_string(l, r->branch);
    l += fmt::format(",\"fallback\":{},\"remote\":", r->fallback);
    append_string(l, r->remote);
    l += ",\"rev\":";
    append_string(l, r->rev);
    l += '}';
  }
  l += "},\"started_at\":";
  append_time(l, f.started_at);
  l += ",\"state\":";
  append_string(l, f.state);
  l += ",\"steps\":";
  l += steps != details.end() ? compact(*steps) : "[]";
  l += ",\"url\":";
  if (live)
    append_string(l, f.url);
  else
    l += "null";
  l += '}';
  return out;
}

}  // namespace

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

StatusSource status_source(const Config& config, const Paths& paths, Db& db) {
  StatusSource source;
  source.next_job_id = db.next_job_id();
  auto ids = db.job_ids_by_group();
  for (const GroupRecord& g : ordered_groups(config, db.groups())) {
    auto it = ids.find(g.name);
    source.groups.push_back({{"name", g.name},
                             {"base", g.base},
                             {"is_base", g.is_base},
                             {"deleted", g.deleted},
                             {"warnings", g.warnings},
                             {"last_activity", time_json(g.last_activity)},
                             {"badge", badge_path(g.name)},
                             {"jobs", it == ids.end() ? json::array() : json(it->second)}});
  }
  for (const RemoteStatus& r : db.remote_statuses())
    // No fetch time here: it changes every tick, and an idle tick must rewrite nothing.
    source.remotes.push_back(
        {{"project", r.project}, {"remote", r.remote}, {"ok", r.ok}, {"message", r.message}});
  source.for_each_row = [&db](const StatusSource::RowCallback& each) {
    Status status;
    db.for_each_job_newest_first([&](Job&& job, std::string&& revisions) {
      status = each(StatusSource::Row{std::move(job), std::move(revisions)});
      return status.ok();
    });
    return status;
  };
  source.publish_row = [&config, &paths](const StatusSource::Row& row, bool with_facts) {
    return publish_row(config, paths, row, with_facts);
  };
  source.for_each_job = [rows = source.for_each_row,
                         publish = source.publish_row](const StatusSource::JobCallback& each) {
    return rows(
        [&](StatusSource::Row&& row) { return each(json::parse(publish(row, false).line)); });
  };
  return source;
}

Result<StatusSource> status_source(json document) {
  if (!document.is_object()) return Error{"status document is not a JSON object"};
  StatusSource source;
  auto part = [&](const char* key, json fallback) {
    auto it = document.find(key);
    return it != document.end() && it->type() == fallback.type() ? std::move(*it) : fallback;
  };
  auto next = document.find("next_job_id");
  if (next != document.end() && next->is_number_integer()) source.next_job_id = *next;
  source.groups = part("groups", json::array());
  source.remotes = part("remotes", json::array());
  auto jobs = std::make_shared<json>(part("jobs", json::array()));
  source.for_each_job = [jobs](const StatusSource::JobCallback& each) -> Status {
    for (const json& job : *jobs)
      if (auto st = each(json(job)); !st) return st;
    return {};
  };
  return source;
}

Status StatusJsonWriter::begin(Time updated_at, const json& next_job_id, const json& groups) {
  std::string text = fmt::format(R"({{"version": 1, "updated_at": "{}", "next_job_id": {},)",
                                 iso8601(updated_at), compact(next_job_id));
  text += "\n \"groups\": [";
  bool first = true;
  for (const json& g : groups) {
    text += first ? "\n  " : ",\n  ";
    text += compact(g);
    first = false;
  }
  text += "],\n \"jobs\": [";
  return sink_(text);
}

std::string StatusJsonWriter::line(const json& job) { return compact(job); }

Status StatusJsonWriter::job_line(std::string_view line) {
  std::string text = first_job_ ? "\n  " : ",\n  ";
  first_job_ = false;
  text += line;
  return sink_(text);
}

Status StatusJsonWriter::end(const json& remotes) {
  return sink_(fmt::format("],\n \"remotes\": {}}}\n", compact(remotes)));
}

Status write_status_json(StatusSource& source, Time now, const StatusJsonWriter::Sink& sink) {
  StatusJsonWriter writer(sink);
  if (auto st = writer.begin(now, source.next_job_id, source.groups); !st) return st;
  Status jobs = source.for_each_row && source.publish_row
                    ? source.for_each_row([&](StatusSource::Row&& row) {
                        return writer.job_line(source.publish_row(row, false).line);
                      })
                    : source.for_each_job([&](json&& job) { return writer.job(job); });
  if (!jobs) return jobs;
  return writer.end(source.remotes);
}

json status_document(const Config& config, const Paths& paths, Db& db) {
  StatusSource source = status_source(config, paths, db);
  json jobs = json::array();
  (void)source.for_each_job([&](json&& job) {
    jobs.push_back(std::move(job));
    return Status{};
  });
  return {{"version", 1},
          {"next_job_id", source.next_job_id},
          {"groups", std::move(source.groups)},
          {"jobs", std::move(jobs)},
          {"remotes", std::move(source.remotes)}};
}

}  // namespace runbot
