// The commented runbot.toml that `init` writes (share/examples/runbot.toml is the same text),
// and the few values derived from a config.
#include "config/config.h"

namespace runbot {

std::string instance_url(const RunbotConfig& runbot, int64_t id) {
  return "http://" + std::to_string(id) + "." + runbot.domain + ":" +
         std::to_string(runbot.nginx_port) + "/";
}

std::string default_config_text() {
  return R"toml(# openerp-runbot configuration. Every key is optional: the values shown are the defaults.
# A bad file is refused with "runbot.toml:LINE:COL: message" before anything changes.

[runbot]
number = 16                 # max live instances               (CLI --number overrides)
workers = 2                 # max builds at once                (CLI --workers overrides)
start_job_id = 1            # first job id; only ever raises the persisted sequence (CLI --start-job-id)
domain = "runbot.localhost" # site at http://<domain>:<nginx_port>/, instances at http://<id>.<domain>:<nginx_port>/
nginx_port = 8080           # the port nginx listens on
nginx = "private"           # "private": the runbot starts/reloads its own nginx (nginx -p nginx/ ...)
                            # "include": it only writes nginx/runbot.conf and runs reload_command when it changed
reload_command = "nginx -s reload"
port_range = "8100-8899"    # ports for live instances; a port is used only if free in the DB and bindable
max_age_days = 30           # branches whose head commit is older are ignored (base branches never are); 0 = no limit
quiet_seconds = 0           # build a group only when none of its revisions changed for this long
keep_per_group = 5          # jobs kept per group; older job folders are garbage-collected
build_timeout = 1800        # seconds for all steps of a job; a step may set its own `timeout`
fetch_timeout = 300         # seconds one remote's fetch may take; then it is given up (a warning)

# One [[project]] per repository, in build order. Branches sharing a name across projects
# form a group. Nothing is built until at least one project is configured, e.g.:
#
# [[project]]
# name = "server"             # [a-z0-9_-]+ ; also the folder name under the job's src/
# vcs = "git"                 # git | hg | bzr
# remotes = ["/srv/server.git", "https://example.org/team/server.git"]  # first = main; later = forks/teams
# base_branches = ["trunk", "6.0"]  # stable lines: always built, never too old, fallbacks for features
# required = true             # a group is only built when this project resolves
#
# [[project]]
# name = "addons"
# remotes = ["/srv/addons.git"]
# base_branches = ["trunk", "6.0"]
#
# [[project]]
# name = "web"
# remotes = ["/srv/web.git"]
# base_branches = ["trunk", "6.0"]
# required = false

[build]
# Steps run in order with /bin/sh -c in the job's src/, each logging to logs/<name>.log. They see
# RUNBOT_JOB_ID, RUNBOT_JOB_DIR, RUNBOT_GROUP, RUNBOT_SRC, RUNBOT_SRC_<PROJECT>, RUNBOT_REV_<PROJECT>,
# RUNBOT_PORT, RUNBOT_DB and RUNBOT_URL.
steps = [
  # { name = "install", run = "pip install -r server/requirements.txt", timeout = 600 },
  # { name = "test",    run = "python3 server/run_tests.py" },
]
run = ""                    # the live instance, e.g. "python3 $RUNBOT_SRC_SERVER/server.py --port $RUNBOT_PORT"; empty = none
run_on = ["ok", "warn"]     # results for which an instance is started
error_pattern = "ERROR|Traceback"   # RE2 regex (linear time), per log line: match => ko
warning_pattern = "WARNING"         # match => warn (unless ko)
coverage_pattern = ""       # optional, e.g. "TOTAL.* ([0-9.]+)%": the first capture is the job's coverage
artifacts = []              # optional: folders under the job's src/ published as links, e.g. ["coverage-html"]
# env = { PIP_INDEX_URL = "http://127.0.0.1:3141/" }  # more variables for every step and instance
                            # (they see nothing else of the tick's environment but PATH, LANG, TZ)

[database]
# Each job gets its own database runbot_<id>, made before its first step, kept by its live
# instance and dropped with its folder. Steps and the instance see RUNBOT_DB and RUNBOT_DB_URL
# (and PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE with postgresql, so psql needs no
# options: PGUSER is the job's own role runbot_<id>, LOGIN only, owner of its database, the
# only role besides the configured one that may connect to it; dropped with the database).
kind = "sqlite"             # "sqlite": RUNBOT_DB = <dir>/jobs/<id>/db/runbot_<id>.sqlite (the folder exists)
                            # "postgresql": RUNBOT_DB = runbot_<id> on the server below
# host = "127.0.0.1"        # or a socket directory, e.g. "/var/run/postgresql"
# port = 5432
# user = "runbot"           # needs CREATEDB and CREATEROLE; default: the user the runbot runs as
# password = "..."          # given to the tools as PGPASSWORD, never to a job
# dsn = "host=db.example user=runbot sslmode=require"   # instead of host/port/user/password
# template = "app-template" # CREATE DATABASE runbot_<id> TEMPLATE "app-template"
# dump = "seed.dump"        # then restore this SQL file (psql -f) or pg_dump archive (pg_restore); relative to --dir
# admin_db = "postgres"     # where CREATE/DROP DATABASE run
# timeout = 600             # seconds to create one database

[sandbox]
# Branches come from many teams and forks: every step and live instance runs confined (bubblewrap):
# read-only host, writable only the job's src/ (and db/), private /tmp and $HOME, the rest of the
# state dir invisible, no capabilities, its own PID namespace (nothing it starts outlives it).
kind = "bwrap"              # "bwrap" | "none" (trusted code only: builds then run unconfined)
network = "host"            # steps: "host" | "none" (their own loopback only); instances share the host's
user = "nobody"             # when the runbot runs as root: the unprivileged user builds run as
memory = "4G"               # per step and per instance; "" = no limit (cgroup v2, else v1, else rlimits)
pids = 1024                 # processes per step / per instance; 0 = no limit
cpus = 0                    # CPU cores per step / per instance; 0 = no limit
max_log = "1G"              # a step's log is cut there and the step is ko ("log over 1G"); "" = no cut

[executor]
# Where jobs run. "slurm": one sbatch job per job (runbot-<id>), the state dir shared with the
# nodes at the same path (README "Running on a cluster").
kind = "local"              # "local" | "slurm"
partition = ""              # slurm: sbatch --partition ("" = the cluster's default)
account = ""                # slurm: sbatch --account
sbatch_args = []            # slurm: more sbatch arguments, e.g. ["--qos=runbot"]
)toml";
}

}  // namespace runbot
