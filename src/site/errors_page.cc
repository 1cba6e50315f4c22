#include "site/errors_page.h"

#include "job/fingerprint.h"
#include "site/template.h"

namespace runbot {

using nlohmann::json;

std::string error_class(const ErrorRecord& e) {
  if (e.flaky > 0) return "flaky";
  return e.jobs > 1 ? "known" : "new";
}

json errors_document(Db& db, size_t limit, size_t max_groups) {
  json list = json::array();
  for (const ErrorRecord& e : db.errors(limit, max_groups)) {
    json groups = json::array();
    for (const auto& [name, last] : e.groups)
      groups.push_back({{"name", name}, {"last_job", last}});
    list.push_back({{"fingerprint", e.fingerprint},
                    {"class", error_class(e)},
                    {"text", error_summary(e.sample)},
                    {"sample", e.sample},
                    {"step", e.step},
                    {"jobs", e.jobs},
                    {"first_job", e.first_job},
                    {"last_job", e.last_job},
                    {"groups", std::move(groups)},
                    {"group_count", e.group_count}});
  }
  return {{"version", 1}, {"errors", std::move(list)}};
}

Status publish_errors_page(const Paths& paths, Db& db, Sync sync) {
  // Unchanged table, page in place: nothing to render (the cost of an idle errors table).
  constexpr const char* kPublishedKey = "published_errors";
  std::string signature = db.errors_signature();
  std::error_code ec;
  if (db.meta(kPublishedKey) == signature &&
      std::filesystem::exists(paths.www() / "errors.html", ec))
    return {};
  auto tmpl = load_template("errors.html.mustache");
  if (!tmpl) return tmpl.error();
  json doc = errors_document(db, kErrorsPageRows, kErrorsPageGroups);
  for (json& e : doc["errors"]) {
    int64_t more = e["group_count"].get<int64_t>() - static_cast<int64_t>(e["groups"].size());
    e["more_groups"] = more > 0 ? json(more) : json(nullptr);
  }
  int64_t count = db.error_count();
  size_t shown = doc["errors"].size();
  json view = {{"errors", doc["errors"]},
               {"has_errors", shown > 0},
               {"count", count},
               {"shown", shown},
               {"cut", static_cast<size_t>(count) > shown}};
  auto written = write_file_if_changed(paths.www() / "errors.html", tmpl->render(view), sync);
  if (!written) return written.error();
  db.set_meta(kPublishedKey, signature);
  return {};
}

}  // namespace runbot
