// JobErrors: a job's extracted errors and their marker, jobs/<id>/errors.json.
#include <fmt/format.h>

#include "exec/sandbox.h"
#include "job/error_extract.h"
#include "job/json_doc.h"

namespace runbot {

namespace fs = std::filesystem;
using namespace jobfile;

namespace {
constexpr size_t kTextBudget = 512 * 1024;  // past this, texts are written as summaries
}  // namespace

ErrorContext job_error_context(const fs::path& job_dir) {
  return ErrorContext{{job_dir.string(), std::string(kStageRoot) + "/job"}};
}

Result<LogCounts> JobErrors::scan_step(const LogClassifier& classifier, const std::string& step,
                                       const fs::path& log) {
  ErrorExtractor extractor(step, context_);
  auto counts = classifier.file(log, [&](const LogLine& l) { extractor.line(l); });
  for (auto& e : extractor.finish()) errors_.push_back(std::move(e));
  dropped_ += extractor.dropped();
  return counts;
}

Status JobErrors::write(const fs::path& job_dir) const {
  json list = json::array();
  size_t budget = kTextBudget;
  for (const auto& e : errors_) {
    std::string text = e.text.size() <= budget ? e.text : error_summary(e.text);
    budget -= std::min(budget, text.size());
    list.push_back({{"step", e.step},
                    {"line", e.line},
                    {"offset", e.offset},
                    {"fingerprint", e.fingerprint},
                    {"text", text}});
  }
  return save(job_dir / kErrorsMarker,
              {{"version", kJobFileVersion}, {"errors", list}, {"dropped", dropped_}});
}

Result<std::vector<BuildError>> read_errors(const fs::path& job_dir) {
  fs::path file = job_dir / kErrorsMarker;
  std::vector<BuildError> out;
  if (missing(file)) return out;
  auto doc = load(file);
  if (!doc) return doc.error();
  FieldReader r(file.string());
  const json* list = r.array(*doc, "", "errors");
  for (size_t i = 0; list && i < list->size() && r.ok(); ++i) {
    std::string where = fmt::format("errors[{}]", i);
    const json& e = (*list)[i];
    if (!e.is_object()) {
      r.fail(where, "must be an object");
      break;
    }
    BuildError b;
    b.step = r.str(e, where, "step");
    b.line = r.integer(e, where, "line", 0, kMaxInt64);
    b.offset = static_cast<uint64_t>(r.integer(e, where, "offset", 0, kMaxInt64));
    b.fingerprint = r.str(e, where, "fingerprint");
    b.text = r.str(e, where, "text");
    out.push_back(std::move(b));
  }
  if (!r.ok()) return r.error();
  return out;
}

}  // namespace runbot
