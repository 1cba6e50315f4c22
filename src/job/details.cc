#include "job/details.h"

#include <fmt/format.h>

#include "job/job_file.h"

namespace runbot {

using nlohmann::json;

json read_job_details(const Paths& paths, int64_t id) {
  std::filesystem::path dir = paths.job(id);
  json steps = json::array();
  if (auto recorded = read_steps(dir)) {
    for (const StepRecord& s : *recorded)
      steps.push_back({{"name", s.name},
                       {"exit", s.exit},
                       {"seconds", s.seconds},
                       {"errors", s.errors},
                       {"warnings", s.warnings},
                       {"timed_out", s.timed_out},
                       {"log", fmt::format("jobs/{}/{}", id, s.log)}});
  }
  json coverage = nullptr;
  json artifacts = json::array();
  if (auto result = read_result(dir); result && *result) {
    if ((*result)->coverage) coverage = *(*result)->coverage;
    for (const auto& a : (*result)->artifacts)
      artifacts.push_back(fmt::format("jobs/{}/{}", id, a));
  }
  return {{"steps", steps}, {"coverage", coverage}, {"artifacts", artifacts}};
}

}  // namespace runbot
