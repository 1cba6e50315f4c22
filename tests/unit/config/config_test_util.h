// Shared by the config tests: the SPEC.md sample, parse_ok and errors_of.
#pragma once
#include <gtest/gtest.h>

#include <string_view>

#include "config/config.h"

namespace runbot::config_test {

// SPEC.md's sample, verbatim.
inline constexpr std::string_view kSpecSample = R"toml([runbot]
number = 16                 # max live instances               (CLI --number overrides)
workers = 2                 # max builds at once                (CLI --workers overrides)
start_job_id = 1            # first job id; only ever raises the persisted sequence (CLI --start-job-id)
domain = "runbot.localhost" # site at http://<domain>:<nginx_port>/, instances at http://<id>.<domain>:<nginx_port>/
nginx_port = 8080
nginx = "private"           # "private": the runbot starts/reloads its own nginx (nginx -p nginx/ ...)
                            # "include": it only writes nginx/runbot.conf and runs reload_command when it changed
reload_command = "nginx -s reload"
port_range = "8100-8899"    # ports for live instances; a port is used only if free in the DB and bindable
max_age_days = 30           # branches whose head commit is older are ignored (base branches never are)
quiet_seconds = 0           # build a group only when none of its revisions changed for this long
keep_per_group = 5          # jobs kept per group; older job folders are garbage-collected
build_timeout = 1800        # seconds for all steps of a job; a step may set its own `timeout`
fetch_timeout = 300         # seconds one remote's fetch may take; then it is given up (a warning)

[[project]]                 # one table per repository, in build order
name = "server"             # [a-z0-9_-]+ ; also the folder name under the job's src/
vcs = "git"                 # git | hg | bzr
remotes = ["/srv/server.git", "https://example.org/team/server.git"]  # first = main; later = forks/teams
base_branches = ["trunk", "6.0"]   # stable lines: always built, never too old, fallbacks for features
required = true             # a group is only built when this project resolves

[build]
steps = [
  { name = "install", run = "...", timeout = 600 },
  { name = "test",    run = "..." },
]
run = "python3 $RUNBOT_SRC_SERVER/server.py --port $RUNBOT_PORT"   # the live instance; empty = none
run_on = ["ok", "warn"]     # results for which an instance is started
error_pattern = "ERROR|Traceback"   # RE2 regex (linear time), per log line: match => ko
warning_pattern = "WARNING"         # match => warn (unless ko)
coverage_pattern = "TOTAL.* ([0-9.]+)%"  # optional: first capture is shown as the job's coverage
artifacts = ["coverage-html"]       # optional: folders under the job's src/ published as links
)toml";

// Parses a text that must be accepted; a failure is reported with its message.
inline Config parse_ok(std::string_view text) {
  auto r = parse_config(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Config{};
}

// The full error message for a text that must be refused.
inline std::string errors_of(std::string_view text) {
  auto r = parse_config(text);
  if (r.ok()) {
    ADD_FAILURE() << "accepted:\n" << text;
    return "";
  }
  return r.error().message;
}

}  // namespace runbot::config_test
