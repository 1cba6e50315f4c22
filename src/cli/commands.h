// Every CLI command except tick, each returning the process exit status (0/1/2).
#pragma once
#include <cstdint>
#include <string>

#include "tick/tick.h"
#include "util/paths.h"

namespace runbot {

int cmd_init(const Paths& paths, const std::string& config_file);
int cmd_run(const Paths& paths, const TickOptions& options, int interval_seconds);
int cmd_status(const Paths& paths, bool json);
int cmd_build(const Paths& paths, const std::string& group);
int cmd_kill(const Paths& paths, int64_t job);
int cmd_wake(const Paths& paths, int64_t job);
int cmd_keep(const Paths& paths, int64_t job, bool off);
int cmd_gc(const Paths& paths);
int cmd_clean(const Paths& paths);
int cmd_job_run(const Paths& paths, int64_t job);

}  // namespace runbot
