// Durable writes: whole replacement or nothing, for whole strings and streamed files.
#include "util/atomic_file.h"

#include <gtest/gtest.h>

#include <string>

#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;

size_t entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WriteIfChangedLeavesAnEqualFileAlone) {
  TempDir dir;
  fs::path file = dir.path() / "a.txt";
  ASSERT_TRUE(write_file_atomic(file, "one"));
  auto wrote = write_file_if_changed(file, "one");
  ASSERT_TRUE(wrote);
  EXPECT_FALSE(*wrote);
  wrote = write_file_if_changed(file, "two");
  ASSERT_TRUE(wrote);
  EXPECT_TRUE(*wrote);
  EXPECT_EQ(read_text(file), "two");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFileStreamed, CommitReplacesTheFileWithEverythingWritten) {
  TempDir dir;
  fs::path file = dir.path() / "status.json";
  test::write_text(file, "old");
  auto out = StreamedFile::create(file);
  ASSERT_TRUE(out) << out.error().message;
  std::string big(300 * 1024, 'x');  // more than the buffer: written through
  ASSERT_TRUE((*out)->write("head,"));
  ASSERT_TRUE((*out)->write(big));
  ASSERT_TRUE((*out)->write(",tail"));
  ASSERT_TRUE((*out)->flush());
  EXPECT_EQ(read_text((*out)->temp_path()), "head," + big + ",tail");
  EXPECT_EQ(read_text(file), "old");  // untouched until commit
  ASSERT_TRUE((*out)->commit(Sync::now));
  EXPECT_EQ(read_text(file), "head," + big + ",tail");
  EXPECT_EQ(entries(dir.path()), 1u);
  EXPECT_FALSE((*out)->write("more"));  // closed
}

TEST(AtomicFileStreamed, AbandonedWriteLeavesTheOldFileAndNoTemp) {
  TempDir dir;
  fs::path file = dir.path() / "index.html";
  test::write_text(file, "old");
  {
    auto out = StreamedFile::create(file);
    ASSERT_TRUE(out);
    ASSERT_TRUE((*out)->write("half of a new"));
    ASSERT_TRUE((*out)->flush());
  }
  EXPECT_EQ(read_text(file), "old");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFileStreamed, UnwritableFolderIsAnError) {
  TempDir dir;
  auto out = StreamedFile::create(dir.path() / "missing" / "f");
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace runbot
