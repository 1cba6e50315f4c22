#include "config.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "support/support.h"

namespace runbot {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// SPEC.md's sample, verbatim.
constexpr std::string_view kSpecSample = R"toml([runbot]
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
error_pattern = "ERROR|Traceback"   # ECMAScript regex, per log line: match => ko
warning_pattern = "WARNING"         # match => warn (unless ko)
coverage_pattern = "TOTAL.* ([0-9.]+)%"  # optional: first capture is shown as the job's coverage
artifacts = ["coverage-html"]       # optional: folders under the job's src/ published as links
)toml";

Config parse_ok(std::string_view text) {
  auto r = parse_config(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Config{};
}

// The full error message for a text that must be refused.
std::string errors_of(std::string_view text) {
  auto r = parse_config(text);
  if (r.ok()) {
    ADD_FAILURE() << "accepted:\n" << text;
    return "";
  }
  return r.error().message;
}

TEST(ConfigParse, SpecSample) {
  Config c = parse_ok(kSpecSample);
  EXPECT_EQ(c.runbot.number, 16);
  EXPECT_EQ(c.runbot.workers, 2);
  EXPECT_EQ(c.runbot.start_job_id, 1);
  EXPECT_EQ(c.runbot.domain, "runbot.localhost");
  EXPECT_EQ(c.runbot.nginx_port, 8080);
  EXPECT_EQ(c.runbot.nginx, "private");
  EXPECT_EQ(c.runbot.reload_command, "nginx -s reload");
  EXPECT_EQ(c.runbot.port_min, 8100);
  EXPECT_EQ(c.runbot.port_max, 8899);
  EXPECT_EQ(c.runbot.max_age_days, 30);
  EXPECT_EQ(c.runbot.quiet_seconds, 0);
  EXPECT_EQ(c.runbot.keep_per_group, 5);
  EXPECT_EQ(c.runbot.build_timeout, 1800);
  ASSERT_EQ(c.projects.size(), 1u);
  const ProjectConfig& p = c.projects[0];
  EXPECT_EQ(p.name, "server");
  EXPECT_EQ(p.vcs, "git");
  EXPECT_EQ(p.remotes,
            (std::vector<std::string>{"/srv/server.git", "https://example.org/team/server.git"}));
  EXPECT_EQ(p.base_branches, (std::vector<std::string>{"trunk", "6.0"}));
  EXPECT_TRUE(p.required);
  ASSERT_EQ(c.build.steps.size(), 2u);
  EXPECT_EQ(c.build.steps[0].name, "install");
  EXPECT_EQ(c.build.steps[0].run, "...");
  EXPECT_EQ(c.build.steps[0].timeout, 600);
  EXPECT_EQ(c.build.steps[1].name, "test");
  EXPECT_EQ(c.build.steps[1].timeout, 0);
  EXPECT_EQ(c.build.run, "python3 $RUNBOT_SRC_SERVER/server.py --port $RUNBOT_PORT");
  EXPECT_EQ(c.build.run_on, (std::vector<std::string>{"ok", "warn"}));
  EXPECT_EQ(c.build.error_pattern, "ERROR|Traceback");
  EXPECT_EQ(c.build.warning_pattern, "WARNING");
  EXPECT_EQ(c.build.coverage_pattern, "TOTAL.* ([0-9.]+)%");
  EXPECT_EQ(c.build.artifacts, (std::vector<std::string>{"coverage-html"}));
}

TEST(ConfigParse, NonDefaultValuesAndSeveralProjects) {
  Config c = parse_ok(R"([runbot]
number = 3
workers = 1
start_job_id = 1000
domain = "ci.example.org"
nginx_port = 80
nginx = "include"
reload_command = ""
port_range = "9000-9000"
max_age_days = 0
quiet_seconds = 120
keep_per_group = 1
build_timeout = 60

[[project]]
name = "server"
remotes = ["/a"]

[[project]]
name = "my_web-2"
vcs = "hg"
remotes = ["/b", "/c"]
required = false

[build]
run_on = ["ko"]
artifacts = ["out/html", "cov"]
)");
  EXPECT_EQ(c.runbot.number, 3);
  EXPECT_EQ(c.runbot.start_job_id, 1000);
  EXPECT_EQ(c.runbot.domain, "ci.example.org");
  EXPECT_EQ(c.runbot.nginx, "include");
  EXPECT_EQ(c.runbot.reload_command, "");
  EXPECT_EQ(c.runbot.port_min, 9000);
  EXPECT_EQ(c.runbot.port_max, 9000);
  EXPECT_EQ(c.runbot.max_age_days, 0);
  EXPECT_EQ(c.runbot.quiet_seconds, 120);
  ASSERT_EQ(c.projects.size(), 2u);
  EXPECT_EQ(c.projects[1].vcs, "hg");
  EXPECT_FALSE(c.projects[1].required);
  EXPECT_TRUE(c.projects[1].base_branches.empty());
  ASSERT_NE(c.project("my_web-2"), nullptr);
  EXPECT_EQ(c.project("my_web-2")->remotes.size(), 2u);
  EXPECT_EQ(c.project("server"), &c.projects[0]);
  EXPECT_EQ(c.project("nope"), nullptr);
  EXPECT_EQ(c.build.run_on, (std::vector<std::string>{"ko"}));
  EXPECT_EQ(c.build.artifacts, (std::vector<std::string>{"out/html", "cov"}));
  EXPECT_TRUE(c.build.steps.empty());
}

TEST(ConfigParse, EmptyFileGivesDefaults) {
  Config c = parse_ok("");
  Config d;
  EXPECT_EQ(c.runbot.number, d.runbot.number);
  EXPECT_EQ(c.runbot.port_min, 8100);
  EXPECT_EQ(c.runbot.port_max, 8899);
  EXPECT_EQ(c.runbot.nginx, "private");
  EXPECT_TRUE(c.projects.empty());
  EXPECT_EQ(c.build.run_on, (std::vector<std::string>{"ok", "warn"}));
  EXPECT_EQ(c.build.error_pattern, "ERROR|Traceback");
  EXPECT_EQ(c.build.coverage_pattern, "");
}

TEST(ConfigDefaultText, ParsesToTheDefaults) {
  Config c = parse_ok(default_config_text());
  Config d;
  EXPECT_TRUE(c.projects.empty());
  EXPECT_TRUE(c.build.steps.empty());
  EXPECT_EQ(c.runbot.number, d.runbot.number);
  EXPECT_EQ(c.runbot.workers, d.runbot.workers);
  EXPECT_EQ(c.runbot.start_job_id, d.runbot.start_job_id);
  EXPECT_EQ(c.runbot.domain, d.runbot.domain);
  EXPECT_EQ(c.runbot.nginx_port, d.runbot.nginx_port);
  EXPECT_EQ(c.runbot.nginx, d.runbot.nginx);
  EXPECT_EQ(c.runbot.reload_command, d.runbot.reload_command);
  EXPECT_EQ(c.runbot.port_min, d.runbot.port_min);
  EXPECT_EQ(c.runbot.port_max, d.runbot.port_max);
  EXPECT_EQ(c.runbot.max_age_days, d.runbot.max_age_days);
  EXPECT_EQ(c.runbot.quiet_seconds, d.runbot.quiet_seconds);
  EXPECT_EQ(c.runbot.keep_per_group, d.runbot.keep_per_group);
  EXPECT_EQ(c.runbot.build_timeout, d.runbot.build_timeout);
  EXPECT_EQ(c.build.run, d.build.run);
  EXPECT_EQ(c.build.run_on, d.build.run_on);
  EXPECT_EQ(c.build.error_pattern, d.build.error_pattern);
  EXPECT_EQ(c.build.warning_pattern, d.build.warning_pattern);
  EXPECT_EQ(c.build.coverage_pattern, d.build.coverage_pattern);
  EXPECT_EQ(c.build.artifacts, d.build.artifacts);
}

TEST(ConfigDefaultText, UncommentedExamplesParse) {
  // Uncommenting the example projects and steps gives a valid, useful config.
  std::string text = default_config_text();
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# [[project]]", 0) == 0 || line.rfind("# name", 0) == 0 ||
        line.rfind("# vcs", 0) == 0 || line.rfind("# remotes", 0) == 0 ||
        line.rfind("# base_branches", 0) == 0 || line.rfind("# required", 0) == 0) {
      line = line.substr(2);
    } else if (line.rfind("  # {", 0) == 0) {
      line = "  " + line.substr(4);
    }
    out += line + "\n";
  }
  Config c = parse_ok(out);
  ASSERT_EQ(c.projects.size(), 3u);
  EXPECT_EQ(c.projects[2].name, "web");
  EXPECT_FALSE(c.projects[2].required);
  ASSERT_EQ(c.build.steps.size(), 2u);
  EXPECT_EQ(c.build.steps[0].timeout, 600);
}

TEST(ConfigDefaultText, EqualsShareExample) {
  EXPECT_EQ(test::read_text(std::filesystem::path(RUNBOT_TEST_SHARE) / "examples/runbot.toml"),
            default_config_text());
}

TEST(ConfigErrors, SyntaxError) {
  std::string e = errors_of("[runbot]\nnumber = \n");
  EXPECT_THAT(e, StartsWith("runbot.toml:2:10: invalid TOML: "));
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_THAT(errors_of("[runbot]\nnumber = 1\nnumber = 2\n"), StartsWith("runbot.toml:3:"));
  EXPECT_THAT(errors_of("[runbot\n"), StartsWith("runbot.toml:1:"));
}

TEST(ConfigErrors, SourceNameIsUsed) {
  auto r = parse_config("x = 1\n", "other.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, StartsWith("other.toml:1:1: unknown key 'x' at the top level"));
}

TEST(ConfigErrors, UnknownKeysAtEveryLevel) {
  EXPECT_EQ(errors_of("[runbot]\nnumbr = 3\n"),
            "runbot.toml:2:1: unknown key 'numbr' in [runbot] (expected one of: number, "
            "workers, start_job_id, domain, nginx_port, nginx, reload_command, port_range, "
            "max_age_days, quiet_seconds, keep_per_group, build_timeout)");
  EXPECT_THAT(errors_of("[runbot]\n[bulid]\nrun = \"x\"\n"),
              StartsWith("runbot.toml:2:2: unknown table [bulid] (expected [runbot], "
                         "[[project]], [build] or [database])"));
  EXPECT_THAT(errors_of("verbose = true\n"),
              StartsWith("runbot.toml:1:1: unknown key 'verbose' at the top level"));
  EXPECT_THAT(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\"]\n  branch = \"x\"\n"),
              StartsWith("runbot.toml:4:3: unknown key 'branch' in project 'a'"));
  EXPECT_THAT(errors_of("[build]\nartefacts = []\n"),
              StartsWith("runbot.toml:2:1: unknown key 'artefacts' in [build]"));
  EXPECT_THAT(errors_of("[build]\nsteps = [{ name = \"t\", run = \"x\", timout = 3 }]\n"),
              StartsWith("runbot.toml:2:35: unknown key 'timout' in [build] step 't' "
                         "(expected one of: name, run, timeout)"));
  EXPECT_THAT(errors_of("[runbot.extra]\nx = 1\n"),
              StartsWith("runbot.toml:1:9: unknown key 'extra' in [runbot]"));
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(errors_of("[runbot]\nnumber = \"16\"\n"),
            "runbot.toml:2:10: [runbot] number must be an integer, not a string");
  EXPECT_EQ(errors_of("[runbot]\nworkers = 2.5\n"),
            "runbot.toml:2:11: [runbot] workers must be an integer, not a float");
  EXPECT_EQ(errors_of("[runbot]\ndomain = 3\n"),
            "runbot.toml:2:10: [runbot] domain must be a string, not an integer");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = \"/a\"\n"),
            "runbot.toml:3:11: project 'a' remotes must be an array of strings, not a string");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\", 3]\n"),
            "runbot.toml:3:18: project 'a' remotes[1] must be a string, not an integer");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\"]\nrequired = \"yes\"\n"),
            "runbot.toml:4:12: project 'a' required must be a boolean (true or false), not a "
            "string");
  EXPECT_EQ(errors_of("[build]\nsteps = [\"make\"]\n"),
            "runbot.toml:2:10: [build] steps[0] must be a table like { name = \"test\", run = "
            "\"...\" }, not a string");
  EXPECT_EQ(errors_of("[build]\nsteps = { name = \"a\" }\n"),
            "runbot.toml:2:9: [build] steps must be an array of tables, not a table");
  EXPECT_EQ(errors_of("runbot = 3\n"),
            "runbot.toml:1:10: runbot must be a table ([runbot]), "
            "not an integer");
  EXPECT_THAT(errors_of("[project]\nname = \"a\"\n"),
              StartsWith("runbot.toml:1:1: project must be an array of tables (write "
                         "[[project]], not [project])"));
  EXPECT_EQ(errors_of("build = []\n"),
            "runbot.toml:1:9: build must be a table ([build]), not an array");
}

TEST(ConfigErrors, RunbotRanges) {
  EXPECT_EQ(errors_of("[runbot]\nnumber = 0\n"),
            "runbot.toml:2:10: [runbot] number must be at least 1 (got 0)");
  EXPECT_EQ(errors_of("[runbot]\nworkers = -1\n"),
            "runbot.toml:2:11: [runbot] workers must be at least 1 (got -1)");
  EXPECT_EQ(errors_of("[runbot]\nstart_job_id = 0\n"),
            "runbot.toml:2:16: [runbot] start_job_id must be at least 1 (got 0)");
  EXPECT_EQ(errors_of("[runbot]\nnginx_port = 65536\n"),
            "runbot.toml:2:14: [runbot] nginx_port must be at most 65535 (got 65536)");
  EXPECT_EQ(errors_of("[runbot]\nnumber = 3000000000\n"),
            "runbot.toml:2:10: [runbot] number must be at most 2147483647 (got 3000000000)");
  EXPECT_EQ(errors_of("[runbot]\nmax_age_days = -1\n"),
            "runbot.toml:2:16: [runbot] max_age_days must be at least 0 (got -1)");
  EXPECT_EQ(errors_of("[runbot]\nquiet_seconds = -5\n"),
            "runbot.toml:2:17: [runbot] quiet_seconds must be at least 0 (got -5)");
  EXPECT_EQ(errors_of("[runbot]\nkeep_per_group = 0\n"),
            "runbot.toml:2:18: [runbot] keep_per_group must be at least 1 (got 0)");
  EXPECT_EQ(errors_of("[runbot]\nbuild_timeout = 0\n"),
            "runbot.toml:2:17: [runbot] build_timeout must be at least 1 (got 0)");
  EXPECT_EQ(errors_of("[runbot]\nnginx = \"public\"\n"),
            "runbot.toml:2:9: [runbot] nginx must be \"private\" or \"include\" (got \"public\")");
  EXPECT_THAT(errors_of("[runbot]\ndomain = \"\"\n"),
              StartsWith("runbot.toml:2:10: [runbot] domain \"\" must be a non-empty host name"));
  EXPECT_THAT(errors_of("[runbot]\ndomain = \"run bot/x\"\n"), StartsWith("runbot.toml:2:10: "));
  EXPECT_EQ(parse_ok("[runbot]\nstart_job_id = 5000000000\n").runbot.start_job_id, 5000000000);
}

TEST(ConfigErrors, BadPortRange) {
  for (const char* bad : {"9000-8000", "0-10", "8100", "8100-70000", "a-b", "-8100", "8100-",
                          " 8100-8200", "8100-8200-8300", "", "+1-2", "00000001-2"}) {
    std::string e = errors_of(fmt::format("[runbot]\nport_range = \"{}\"\n", bad));
    EXPECT_THAT(e, StartsWith(fmt::format("runbot.toml:2:14: bad port range \"{}\"", bad)));
    EXPECT_THAT(e, HasSubstr("1 <= MIN <= MAX <= 65535"));
  }
  EXPECT_EQ(errors_of("[runbot]\nport_range = 8100\n"),
            "runbot.toml:2:14: [runbot] port_range must be a string like \"8100-8899\", not an "
            "integer");
  Config c = parse_ok("[runbot]\nport_range = \"1-65535\"\n");
  EXPECT_EQ(c.runbot.port_min, 1);
  EXPECT_EQ(c.runbot.port_max, 65535);
}

TEST(ConfigErrors, Projects) {
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\"]\n\n[[project]]\nname = "
                      "\"a\"\nremotes = [\"/b\"]\n"),
            "runbot.toml:6:8: duplicate project 'a' (first defined at 2:8)");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = []\n"),
            "runbot.toml:3:11: project 'a' has no remotes (add remotes = [\"URL or path\"])");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\n"),
            "runbot.toml:1:1: project 'a' has no remotes (add remotes = [\"URL or path\"])");
  EXPECT_EQ(errors_of("[[project]]\nremotes = [\"/a\"]\n"),
            "runbot.toml:1:1: [[project]] #1 has no name (add name = \"...\")");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\", \"\"]\n"),
            "runbot.toml:3:18: project 'a' remotes[1] is an empty string");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\", \"/a\"]\n"),
            "runbot.toml:3:18: project 'a' remotes lists '/a' twice (first at 3:12)");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nremotes = [\"/a\"]\nbase_branches = [\"\"]\n"),
            "runbot.toml:4:18: project 'a' base_branches[0] is an empty string");
  EXPECT_EQ(errors_of("[[project]]\nname = \"a\"\nvcs = \"svn\"\nremotes = [\"/a\"]\n"),
            "runbot.toml:3:7: project 'a' vcs must be \"git\", \"hg\" or \"bzr\" (got \"svn\")");
  for (const char* bad : {"Server", "a b", "", "a.b", "../x", "a/b"}) {
    EXPECT_EQ(
        errors_of(fmt::format("[[project]]\nname = \"{}\"\nremotes = [\"/a\"]\n", bad)),
        fmt::format("runbot.toml:2:8: [[project]] #1 name \"{}\" must match [a-z0-9_-]+", bad));
  }
  EXPECT_EQ(errors_of("project = [1]\n"),
            "runbot.toml:1:12: project #1 must be a table, not an integer");
}

TEST(ConfigErrors, Steps) {
  EXPECT_EQ(errors_of("[build]\nsteps = [\n  { name = \"t\", run = \"a\" },\n  { name = \"t\", "
                      "run = \"b\" },\n]\n"),
            "runbot.toml:4:12: duplicate step name 't' (first defined at 3:12)");
  for (const char* bad : {".", "..", "a b", "a/b", ""}) {
    EXPECT_EQ(
        errors_of(fmt::format("[build]\nsteps = [{{ name = \"{}\", run = \"x\" }}]\n", bad)),
        fmt::format("runbot.toml:2:19: [build] steps[0] name \"{}\" must match [A-Za-z0-9_.-]+ "
                    "(it names the log file)",
                    bad));
  }
  EXPECT_EQ(errors_of("[build]\nsteps = [{ run = \"x\" }]\n"),
            "runbot.toml:2:10: [build] steps[0] has no name (add name = \"...\")");
  EXPECT_EQ(errors_of("[build]\nsteps = [{ name = \"t\" }]\n"),
            "runbot.toml:2:10: [build] step 't' has no run command (add run = \"...\")");
  EXPECT_EQ(errors_of("[build]\nsteps = [{ name = \"t\", run = \"\" }]\n"),
            "runbot.toml:2:30: [build] step 't' run is empty");
  EXPECT_EQ(errors_of("[build]\nsteps = [{ name = \"t\", run = \"x\", timeout = -1 }]\n"),
            "runbot.toml:2:45: [build] step 't' timeout must be at least 0 (got -1)");
  // [[build.steps]] tables are steps too.
  Config c = parse_ok("[[build.steps]]\nname = \"A.b_c-1\"\nrun = \"make\"\n");
  ASSERT_EQ(c.build.steps.size(), 1u);
  EXPECT_EQ(c.build.steps[0].name, "A.b_c-1");
}

TEST(ConfigErrors, BuildValues) {
  EXPECT_EQ(errors_of("[build]\nrun_on = [\"ok\", \"good\"]\n"),
            "runbot.toml:2:17: [build] run_on: unknown result \"good\" (expected \"ok\", \"warn\" "
            "or \"ko\")");
  std::string e = errors_of("[build]\nerror_pattern = \"(ERROR\"\n");
  EXPECT_THAT(e, StartsWith("runbot.toml:2:17: [build] error_pattern \"(ERROR\" is not a valid "
                            "ECMAScript regex: "));
  EXPECT_GT(e.size(), std::string("runbot.toml:2:17: [build] error_pattern \"(ERROR\" is not a "
                                  "valid ECMAScript regex: ")
                          .size());
  EXPECT_THAT(errors_of("[build]\nwarning_pattern = \"[W\"\n"),
              StartsWith("runbot.toml:2:19: [build] warning_pattern \"[W\" is not a valid"));
  EXPECT_EQ(errors_of("[build]\ncoverage_pattern = \"TOTAL.*%\"\n"),
            "runbot.toml:2:20: [build] coverage_pattern \"TOTAL.*%\" needs a capture group for "
            "the percentage, e.g. \"TOTAL.* ([0-9.]+)%\"");
  EXPECT_THAT(errors_of("[build]\ncoverage_pattern = \"(\"\n"),
              StartsWith("runbot.toml:2:20: [build] coverage_pattern \"(\" is not a valid"));
  EXPECT_EQ(errors_of("[build]\nartifacts = [\"/etc\"]\n"),
            "runbot.toml:2:14: [build] artifact \"/etc\" must be a relative path under the job's "
            "src/, not absolute");
  EXPECT_EQ(errors_of("[build]\nartifacts = [\"a/../../b\"]\n"),
            "runbot.toml:2:14: [build] artifact \"a/../../b\" must not contain a '..' component");
  EXPECT_EQ(errors_of("[build]\nartifacts = [\"..\"]\n"),
            "runbot.toml:2:14: [build] artifact \"..\" must not contain a '..' component");
  EXPECT_EQ(errors_of("[build]\nartifacts = [\"\"]\n"),
            "runbot.toml:2:14: [build] artifacts[0] is an empty string");
  EXPECT_EQ(parse_ok("[build]\nartifacts = [\"a..b/c\"]\n").build.artifacts[0], "a..b/c");
  EXPECT_EQ(parse_ok("[build]\nrun_on = []\n").build.run_on.size(), 0u);
}

TEST(ConfigErrors, AllProblemsReportedInFileOrder) {
  std::string e = errors_of(R"([runbot]
workers = 0
numbr = 3

[[project]]
name = "a"
vcs = "cvs"

[[project]]
name = "a"
remotes = ["/x"]

[build]
error_pattern = "("
artifacts = ["/abs"]
)");
  EXPECT_EQ(e,
            "runbot.toml:2:11: [runbot] workers must be at least 1 (got 0)\n"
            "runbot.toml:3:1: unknown key 'numbr' in [runbot] (expected one of: number, workers, "
            "start_job_id, domain, nginx_port, nginx, reload_command, port_range, max_age_days, "
            "quiet_seconds, keep_per_group, build_timeout)\n"
            "runbot.toml:5:1: project 'a' has no remotes (add remotes = [\"URL or path\"])\n"
            "runbot.toml:7:7: project 'a' vcs must be \"git\", \"hg\" or \"bzr\" (got \"cvs\")\n"
            "runbot.toml:10:8: duplicate project 'a' (first defined at 6:8)\n"
            "runbot.toml:14:17: [build] error_pattern \"(\" is not a valid ECMAScript regex: " +
                std::string(std::regex_error(std::regex_constants::error_paren).what()) +
                "\n"
                "runbot.toml:15:14: [build] artifact \"/abs\" must be a relative path under the "
                "job's src/, not absolute");
}

TEST(ConfigErrors, NoTruncationCrashes) {
  // Every prefix of a valid file either parses or yields positioned errors; none crashes.
  const std::string text(kSpecSample);
  for (size_t n = 0; n <= text.size(); ++n) {
    auto r = parse_config(std::string_view(text).substr(0, n));
    if (!r.ok()) {
      EXPECT_THAT(r.error().message, StartsWith("runbot.toml:")) << n;
    }
  }
  EXPECT_THAT(errors_of(std::string("a = \"\xff\"\n")), StartsWith("runbot.toml:1:"));
}

TEST(ConfigLoad, ReadsFileAndNamesItByBaseName) {
  test::TempDir dir;
  test::write_text(dir / "runbot.toml", "[runbot]\nnumber = 4\n");
  auto ok = load_config(dir / "runbot.toml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->runbot.number, 4);

  test::write_text(dir / "runbot.toml", "[runbot]\nnumber = 0\n");
  auto bad = load_config(dir / "runbot.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "runbot.toml:2:10: [runbot] number must be at least 1 (got 0)");
}

TEST(ConfigLoad, MissingOrUnreadableFileIsNamed) {
  test::TempDir dir;
  auto missing = load_config(dir / "runbot.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr((dir / "runbot.toml").string()));
  EXPECT_THAT(missing.error().message, HasSubstr("No such file"));
  auto directory = load_config(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(directory.error().message, HasSubstr(dir.path().string()));
}

}  // namespace
}  // namespace runbot
