// Config files that must be refused, and the exact messages they give.
// Valid files and defaults are in config_test.cc.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "unit/config/config_test_util.h"
#include "util/pattern.h"

namespace runbot {
namespace {

using config_test::errors_of;
using config_test::kSpecSample;
using config_test::parse_ok;
using ::testing::HasSubstr;
using ::testing::StartsWith;

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
            "max_age_days, quiet_seconds, keep_per_group, build_timeout, fetch_timeout)");
  EXPECT_THAT(errors_of("[runbot]\n[bulid]\nrun = \"x\"\n"),
              StartsWith("runbot.toml:2:2: unknown table [bulid] (expected [runbot], "
                         "[[project]], [build], [database], [sandbox] or [executor])"));
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
  // A fetch that may never end would hold the mirrors (fetch.lock) for good.
  EXPECT_EQ(errors_of("[runbot]\nfetch_timeout = 0\n"),
            "runbot.toml:2:17: [runbot] fetch_timeout must be at least 1 (got 0)");
  EXPECT_EQ(errors_of("[runbot]\nfetch_timeout = 100000\n"),
            "runbot.toml:2:17: [runbot] fetch_timeout must be at most 86400 (got 100000)");
  EXPECT_EQ(errors_of("[runbot]\nnginx = \"public\"\n"),
            "runbot.toml:2:9: [runbot] nginx must be \"private\" or \"include\" (got \"public\")");
  EXPECT_THAT(errors_of("[runbot]\ndomain = \"\"\n"),
              StartsWith("runbot.toml:2:10: [runbot] domain \"\" must be a host name"));
  // Accepted before, and then every tick failed nginx -t (issue 14).
  for (const char* bad : {"..", "-", ".", "a..b", "-a.b", "a-.b", "a.b."})
    EXPECT_THAT(errors_of(fmt::format("[runbot]\ndomain = \"{}\"\n", bad)),
                StartsWith("runbot.toml:2:10: [runbot] domain"))
        << bad;
  EXPECT_EQ(parse_ok("[runbot]\ndomain = \"ci-1.example.com\"\n").runbot.domain,
            "ci-1.example.com");
  EXPECT_EQ(errors_of("[runbot]\nnginx_port = 8100\nport_range = \"8100-8100\"\n"),
            "runbot.toml:3:14: [runbot] port_range \"8100-8100\" has no port for an instance: its "
            "only port is nginx_port");
  EXPECT_EQ(parse_ok("[runbot]\nnginx_port = 8100\nport_range = \"8100-8101\"\n").runbot.port_max,
            8101);
  EXPECT_EQ(errors_of("[runbot]\nstart_job_id = 9223372036854775000\n"),
            "runbot.toml:2:16: [runbot] start_job_id must be at most 4503599627370496 (got "
            "9223372036854775000)");
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
  EXPECT_EQ(errors_of("[[project]]\nname = \"web-x\"\nremotes = [\"/a\"]\n\n[[project]]\nname = "
                      "\"web_x\"\nremotes = [\"/b\"]\n"),
            "runbot.toml:6:8: project 'web_x' and project 'web-x' (defined at 2:8) would share "
            "RUNBOT_SRC_WEB_X in the build's environment: rename one");
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
                            "RE2 regex: "));
  EXPECT_GT(e.size(), std::string("runbot.toml:2:17: [build] error_pattern \"(ERROR\" is not a "
                                  "valid RE2 regex: ")
                          .size());
  // RE2 has no backtracking constructs: a lookahead is refused where it is written.
  EXPECT_THAT(errors_of("[build]\nerror_pattern = \"ERROR(?!: expected)\"\n"),
              StartsWith("runbot.toml:2:17: [build] error_pattern \"ERROR(?!: expected)\" is not "
                         "a valid RE2 regex: "));
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
            "quiet_seconds, keep_per_group, build_timeout, fetch_timeout)\n"
            "runbot.toml:5:1: project 'a' has no remotes (add remotes = [\"URL or path\"])\n"
            "runbot.toml:7:7: project 'a' vcs must be \"git\", \"hg\" or \"bzr\" (got \"cvs\")\n"
            "runbot.toml:10:8: duplicate project 'a' (first defined at 6:8)\n"
            "runbot.toml:14:17: [build] error_pattern \"(\" is not a valid RE2 regex: " +
                compile_pattern("(").error().message +
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

}  // namespace
}  // namespace runbot
