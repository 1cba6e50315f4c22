// A job's facts and status.json's groups -> the data the HTML templates render. Every value is data
// for mustache's escaping `{{x}}`; links are built only from ids and checked names (site/names.h).
#pragma once
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

// What the index shows of one group besides its facts: its newest jobs' cells (cards) and
// compact cells, already rendered, how many of its current jobs are not shown, and the result
// tokens the filter matches ("ko", "running ok", "building", ...; "" before its first job).
struct IndexCells {
  std::string html;  // cards
  std::string mini;  // compact row
  size_t hidden = 0;
  std::string result;
};

// One group's card and its compact row in the index.
View group_card_view(const GroupFacts& group, const IndexCells& cells);
View group_row_view(const GroupFacts& group, const IndexCells& cells);

// The index page around its groups; `rows_html` and `cards_html` are their parts, rendered
// apart ("" cards: the compact view only). Clock-independent.
View index_view(const Config& config, const StatusHead& head, std::string rows_html,
                std::string cards_html);

constexpr int64_t kGroupPageJobs = 100;  // jobs per group page

// The rows of a group page: `jobs` (oldest first) as the page lists them, newest first.
View group_rows_view(const Config& config, const std::vector<JobFacts>& jobs);
// A group's page: its facts, its rows (page `n` of `pages`) and the links between pages;
// `main` for group/<key>.html (the newest page), else group/<key>/<n>.html.
View group_page_view(const GroupFacts& group, View rows, int64_t n, int64_t pages, int64_t total,
                     bool main);

// The log viewer's address for one step's log, relative to www/ ("log.html#log=...&job=...&
// step=...&e=...&w=..."; the error and warning patterns that classified it), or "" when the
// step's log field is not a log of the job.
std::string log_viewer_href(const Config& config, int64_t job_id, const JobFacts::Step& step);

}  // namespace runbot
