#include "site/history.h"

#include <fmt/format.h>

#include "site/job_facts.h"
#include "site/status_json.h"

namespace runbot {

Result<int64_t> write_history_pages(const Config& config, const Paths& paths, Db& db, int64_t first,
                                    int64_t last, SiteFiles& files) {
  int64_t jobs = 0;
  for (int64_t n = first; n <= last; ++n) {
    std::vector<std::string> lines;
    try {
      for (const JobRow& row :
           db.history_rows((n - 1) * kHistoryPageJobs + 1, n * kHistoryPageJobs))
        lines.push_back(job_line(job_facts(config, paths, row)));
    } catch (const std::exception& e) {
      return Error{fmt::format("{}: {}", history_path(n), e.what())};
    }
    jobs += static_cast<int64_t>(lines.size());
    if (auto st = files.write(history_path(n), history_page_text(lines)); !st) return st.error();
  }
  return jobs;
}

Status write_new_history(const Config& config, const Paths& paths, Db& db, int64_t published,
                         SiteFiles& files) {
  int64_t size = db.history_size();
  if (size <= published) return {};
  auto wrote = write_history_pages(config, paths, db, history_page_of(published + 1),
                                   history_page_of(size), files);
  if (!wrote) return wrote.error();
  return {};
}

}  // namespace runbot
