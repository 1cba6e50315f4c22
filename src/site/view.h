// A job's facts and status.json's groups -> the data the HTML templates render. Every value is data
// for mustache's escaping `{{x}}`; links are built only from ids and checked names (site/names.h).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "site/status_json.h"
#include "site/template.h"
#include "util/paths.h"

namespace runbot {

// "2026-11-24 12:00 UTC": absolute, so pages do not change with the clock (age.js turns it
// into "3 min ago" in the browser).
std::string short_time(Time t);
// Build duration for humans: "42 s", "3 min 5 s", "1 h 20 min".
std::string duration_text(Time seconds);

// CSS class of a job cell: its result if known, else its state (building, pending).
std::string job_class(const JobFacts& job);

// The job page's data: every field of one status.json job, plus links (logs, artifacts,
// Connect). Nothing in it depends on the clock, so an unchanged job keeps its page.
View job_view(const Config& config, const Paths& paths, const JobFacts& job);

// What an index cell adds to job_view(): the absolute age and building time (the job page
// does not show them).
void add_cell_fields(View& view, const JobFacts& job);

// One group's part of the index: its newest jobs' cells, already rendered, and how many older
// jobs are not shown.
struct IndexCells {
  std::string html;
  size_t hidden = 0;
};

// One group's section of the index: status.json's group (with its "badge") and its cells.
nlohmann::json group_view(const nlohmann::json& group, const IndexCells& cells);

// The index page's data around its groups; `groups_html` is their sections, rendered apart.
// Clock-independent.
nlohmann::json index_view(const Config& config, const nlohmann::json& next_job_id, bool has_groups,
                          const nlohmann::json& remotes, const std::string& groups_html);

}  // namespace runbot
