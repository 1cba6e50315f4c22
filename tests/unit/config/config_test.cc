// Config parsing of valid files: the SPEC.md sample, defaults, the default text, loading.
// The refused files and their messages are in config_errors_test.cc.
#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "support/support.h"
#include "unit/config/config_test_util.h"

namespace runbot {
namespace {

using config_test::kSpecSample;
using config_test::parse_ok;
using ::testing::HasSubstr;

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
  EXPECT_EQ(c.runbot.fetch_timeout, 300);
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
fetch_timeout = 5

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
  EXPECT_EQ(c.runbot.fetch_timeout, 5);
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
