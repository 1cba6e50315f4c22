// JobFacts: one job as status.json, its page and its index cell show it, typed (no JSON tree
// per job). Made from a DB row, or parsed back from a status.json job object.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"

namespace runbot {

struct JobFacts {
  struct Revision {
    std::string project, branch, rev, remote;
    bool fallback = false;
  };
  struct Step {
    std::string name;
    std::optional<int64_t> exit;
    std::optional<double> seconds;
    int64_t errors = 0;
    int64_t warnings = 0;
    bool timed_out = false;
    std::string log;  // "jobs/<id>/logs/<name>.log"
  };
  struct Error {                               // SPEC "Build errors"
    std::string fingerprint, cls, step, text;  // text: one line
    std::string trace;                         // its whole text, when known (pages)
    int64_t line = 0;                          // in the step's log
  };
  int64_t id = 0;
  std::string group, state, result;  // result: "" while not known
  bool manual = false;
  bool pinned = false;
  std::string reason, note;
  std::string created_at, started_at, finished_at;  // ISO 8601, "" when not (yet) known
  std::optional<Time> created, started, finished;   // the same, parsed
  std::vector<Revision> revisions;                  // one per project, by project name
  std::vector<Step> steps;
  std::optional<double> coverage;
  std::vector<Error> errors;    // the first ones (at most 20)
  int64_t error_count = 0;      // all of them (0 when unknown)
  bool explained = false;       // ko, and every error is known or flaky
  std::optional<int64_t> port;  // set while its instance is live
  std::string url;              // likewise
};

// The facts of a status.json job object (a document built in memory, or an older file):
// missing or mistyped fields read as absent.
JobFacts job_facts(const nlohmann::json& job);

// The facts of a DB row. `revisions`: one per project, by project name; `details`: its build
// details (job/details.h), an object. Without `full`, only what a status.json line needs
// besides the row itself: id, state, result, the ISO times, port and url. Text fields are as
// status.json shows them once parsed (invalid UTF-8 replaced by U+FFFD).
JobFacts row_facts(const Config& config, const Job& job,
                   const std::vector<const Revision*>& revisions, const nlohmann::json& details,
                   bool full);

}  // namespace runbot
