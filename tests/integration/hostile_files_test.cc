// Attacks on files (SPEC "Untrusted code", Files and Privilege): a fork's step reads the
// runbot's secrets and other jobs' sources into its published log, rewrites the runbot's
// state, its own markers and the site, writes to the host, and leaves files in /tmp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// Every file of the state dir whose name or content holds `text`, but the jobs' sources (where
// the script itself is) and the mirrors.
std::vector<fs::path> files_holding(const fs::path& state, const std::string& text) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(state, ec); it != fs::end(it); it.increment(ec)) {
    auto rel = fs::relative(it->path(), state, ec);
    auto part = rel.begin();
    if (*part == "repos" || (*part == "jobs" && rel.begin() != rel.end() && ++part != rel.end() &&
                             ++part != rel.end() && *part == "src")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (it->path().filename().string().find(text) != std::string::npos ||
        read_text(it->path()).find(text) != std::string::npos)
      out.push_back(it->path());
  }
  return out;
}

// Removes the files a step might have managed to leave on the host.
struct RemovedAtEnd {
  std::vector<fs::path> files;
  ~RemovedAtEnd() {
    std::error_code ec;
    for (const auto& f : files) fs::remove(f, ec);
  }
};

TEST(HostileFiles, StepCannotReadTheRunbotsSecretsOrAnotherJobsSources) {
  Family f("", "steps = [" + script_step("loot", "loot.sh") + "]");
  const std::string key = unique_word("sshkey"), theirs = unique_word("theirs");
  const fs::path home = f.tmp / "home";
  fs::create_directories(home / ".ssh");
  write_text(home / ".ssh" / "id_rsa", "-----BEGIN " + key + "-----\n");
  f.launch.env["HOME"] = home.string();
  // Another team's job (trunk) with a file of its own in its sources.
  f.server->commit("trunk", "private.txt", theirs + "\n");
  ASSERT_TRUE(f.settle(60));

  // The fork's branch (from 6.0: no private.txt of its own) prints all it can reach, by the
  // paths it is given and by the real ones (a fork can guess /srv/runbot).
  f.server->branch("6.0-loot", "6.0");
  const std::string ran = unique_word("ran");
  commit_script(f, "6.0-loot", "loot.sh",
                fmt::format(R"(S='{0}'; J="$RUNBOT_JOB_DIR"; echo {1}
for d in "$S" "$J/../.."; do
  cat "$d/runbot.toml"; head -c 64 "$d/runbot.db"; echo; ls -la "$d" "$d/jobs"
  cat "$d"/jobs/*/src/server/private.txt "$d"/jobs/*/*.json
done 2>/dev/null
cat "$HOME/.ssh/id_rsa" '{2}/.ssh/id_rsa' /root/.ssh/id_rsa 2>/dev/null
ls -la "$J" "$J/.." 2>/dev/null; cat "$J"/*.json 2>/dev/null; true
)",
                            f.state.string(), ran, home.string()));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "6.0-loot");
  ASSERT_FALSE(job.is_null()) << f.status().dump(2);
  std::string log = step_log(f, "6.0-loot", "loot");
  ASSERT_NE(log.find(ran), std::string::npos) << "the step did not run:\n" << log;
  EXPECT_EQ(log.find(key), std::string::npos) << "~/.ssh leaked:\n" << log;
  EXPECT_EQ(log.find(theirs), std::string::npos) << "another job's sources leaked:\n" << log;
  EXPECT_EQ(log.find("port_range"), std::string::npos) << "runbot.toml leaked:\n" << log;
  EXPECT_EQ(log.find("SQLite format 3"), std::string::npos) << "runbot.db leaked:\n" << log;
  EXPECT_EQ(log.find("tick.lock"), std::string::npos) << "the state dir is listed:\n" << log;
  EXPECT_EQ(log.find("\"sources\""), std::string::npos) << "job.json leaked:\n" << log;
  EXPECT_EQ(log.find("runner.json"), std::string::npos) << "its markers are listed:\n" << log;
}

TEST(HostileFiles, StepCannotChangeTheDbThePagesOrAnyJobsMarkers) {
  Family f("", "steps = [" + script_step("forge", "forge.sh") + "]");
  ASSERT_TRUE(f.settle(60));
  auto trunk = newest_job(f, "trunk");
  ASSERT_EQ(trunk["result"], "ok") << trunk.dump();

  // A branch that fails its test (exit 3) but makes itself green: its own result.json, its
  // runner killed before it writes the real one; on the way it defaces the site, clobbers
  // runbot.db and forges the other jobs' results.
  const std::string mark = unique_word("pwned");
  const std::string green = fmt::format(
      R"({{"version":1,"result":"ok","note":"{}","errors":0,"warnings":0,"coverage":null,)"
      R"("artifacts":[],"started_at":0,"finished_at":0}})",
      mark);
  f.server->branch("trunk-forge", "trunk");
  commit_script(f, "trunk-forge", "forge.sh",
                fmt::format(R"(S='{0}'; J="$RUNBOT_JOB_DIR"
for d in "$S" "$J/../.."; do
  printf '<h1>{1}</h1>' > "$d/www/index.html"
  printf '{1}' > "$d/runbot.db"
  for o in "$d"/jobs/*; do
    printf '{1}' > "$o/{1}"; printf '%s' '{2}' > "$o/result.json"
    printf '{{"version":1,"steps":[]}}' > "$o/steps.json"
  done
done 2>/dev/null
printf '%s' '{2}' > "$J/result.json" 2>/dev/null
kill -9 $(sed 's/.*"pid": *\([0-9]*\).*/\1/' "$J/runner.json" 2>/dev/null) 2>/dev/null
for m in runner.json instance.json step.json; do printf '{1}' > "$J/$m"; done 2>/dev/null
exit 3
)",
                            f.state.string(), mark, green));
  ASSERT_TRUE(f.settle(60));
  auto st = f.status();
  ASSERT_TRUE(st.is_object());
  auto forged = newest_job(f, "trunk-forge");
  ASSERT_FALSE(forged.is_null()) << st.dump(2);
  EXPECT_EQ(forged["result"], "ko") << forged.dump(2);
  EXPECT_EQ(forged["note"], "forge exited 3") << forged.dump(2);
  auto again = newest_job(f, "trunk");
  EXPECT_EQ(again["result"], "ok") << again.dump(2);
  EXPECT_EQ(again["note"], trunk["note"]);
  EXPECT_EQ(read_text(f.state / "runbot.db").substr(0, 15), "SQLite format 3");
  for (const auto& file : files_holding(f.state, mark)) ADD_FAILURE() << "the step wrote " << file;
  // The pages say what the runner says.
  std::string page =
      read_text(f.state / "www" / "job" / fmt::format("{}.html", forged["id"].get<int64_t>()));
  EXPECT_NE(page.find("forge exited 3"), std::string::npos) << page;
}

TEST(HostileFiles, HostIsReadOnlyAndTmpAndHomeArePrivate) {
  const std::string word = unique_word("left");
  RemovedAtEnd cleanup;
  // Left by another job (or anyone) in the host's /tmp, and in the tick's $HOME.
  const fs::path host_tmp = fs::path("/tmp") / (word + "-host");
  write_text(host_tmp, word);
  cleanup.files.push_back(host_tmp);
  for (const char* d : {"/etc", "/usr", "/var", "/opt", "/"})
    cleanup.files.push_back(fs::path(d) / (word + "-rw"));

  Family f("", "steps = [" + script_step("plant", "plant.sh") + ", " +
                   script_step("look", "look.sh") + "]");
  only_trunk(f);
  fs::create_directories(f.tmp / "home");
  write_text(f.tmp / "home" / (word + "-home"), word);
  f.launch.env["HOME"] = (f.tmp / "home").string();
  cleanup.files.push_back(f.state / (word + "-rw"));
  commit_script(f, "trunk", "plant.sh",
                fmt::format(R"(echo x > /tmp/{0}-step; echo x > "$HOME/{0}-step"
for d in /etc /usr /var /opt / "$RUNBOT_JOB_DIR/../.." '{1}'; do
  touch "$d/{0}-rw" 2>/dev/null && echo "WROTE $d"
done
echo planted
)",
                            word, f.state.string()));
  commit_script(f, "trunk", "look.sh",
                fmt::format(R"(ls -A /tmp "$HOME"
cat /tmp/{0}-host "$HOME/{0}-home" 2>/dev/null && echo SEEN-HOST
cat /tmp/{0}-step "$HOME/{0}-step" 2>/dev/null && echo SEEN-STEP
echo looked
)",
                            word));
  ASSERT_TRUE(f.settle(60));
  std::string plant = step_log(f, "trunk", "plant"), look = step_log(f, "trunk", "look");
  ASSERT_NE(plant.find("planted"), std::string::npos) << plant;
  ASSERT_NE(look.find("looked"), std::string::npos) << look;
  EXPECT_EQ(plant.find("WROTE"), std::string::npos) << "the host is writable:\n" << plant;
  for (const auto& file : cleanup.files)
    EXPECT_FALSE(fs::exists(file) && file != host_tmp) << "the step created " << file;
  EXPECT_EQ(look.find("SEEN-HOST"), std::string::npos) << "the host's /tmp or $HOME is shared:\n"
                                                       << look;
  EXPECT_EQ(look.find(word + "-h"), std::string::npos) << look;
  EXPECT_EQ(look.find("SEEN-STEP"), std::string::npos)
      << "/tmp or $HOME kept what the previous step left:\n"
      << look;
}

}  // namespace
}  // namespace runbot::test
