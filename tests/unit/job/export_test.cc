#include "job/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;

struct Entry {
  std::string path;
  unsigned type = AE_IFREG;
  std::string data;
  int mode = 0644;
  std::string symlink;   // target, for AE_IFLNK
  std::string hardlink;  // target, for a hard link entry
};

la_ssize_t append(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// An in-memory pax tar, written with libarchive's own writer.
std::string make_tar(const std::vector<Entry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &out, nullptr, append, nullptr);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_mtime(entry, 1700000000, 0);
    if (!e.symlink.empty()) archive_entry_set_symlink(entry, e.symlink.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(entry, e.hardlink.c_str());
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Entry file(std::string path, std::string data, int mode = 0644) {
  return Entry{std::move(path), AE_IFREG, std::move(data), mode, "", ""};
}
Entry symlink(std::string path, std::string target) {
  return Entry{std::move(path), AE_IFLNK, "", 0777, std::move(target), ""};
}
Entry hardlink(std::string path, std::string target) {
  return Entry{std::move(path), AE_IFREG, "", 0644, "", std::move(target)};
}

// Everything under `root`, relative, sorted.
std::vector<std::string> listing(const fs::path& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it)
    out.push_back(it->path().lexically_relative(root).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Export, FilesModesAndInnerSymlinks) {
  TempDir tmp;
  fs::path dest = tmp / "src/server";
  auto tar = make_tar({{"bin/", AE_IFDIR, "", 0755, "", ""},
                       file("bin/run.sh", "#!/bin/sh\necho hi\n", 0755),
                       file("README", "hello\n"),
                       symlink("bin/readme", "../README"),
                       symlink("latest", "bin/run.sh"),
                       hardlink("README.copy", "README")});
  auto st = extract_tar_bytes(dest, tar);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(read_text(dest / "README"), "hello\n");
  EXPECT_EQ(read_text(dest / "README.copy"), "hello\n");
  EXPECT_EQ(read_text(dest / "bin/run.sh"), "#!/bin/sh\necho hi\n");
  struct stat sb {};
  ASSERT_EQ(stat((dest / "bin/run.sh").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0755u);
  ASSERT_EQ(stat((dest / "README").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0644u);
  EXPECT_EQ(sb.st_mtime, 1700000000);
  EXPECT_TRUE(fs::is_symlink(dest / "bin/readme"));
  EXPECT_EQ(fs::read_symlink(dest / "bin/readme"), "../README");
  EXPECT_EQ(read_text(dest / "bin/readme"), "hello\n");
  EXPECT_EQ(fs::read_symlink(dest / "latest"), "bin/run.sh");
  EXPECT_EQ(
      listing(tmp.path()),
      (std::vector<std::string>{"src", "src/server", "src/server/README", "src/server/README.copy",
                                "src/server/bin", "src/server/bin/readme", "src/server/bin/run.sh",
                                "src/server/latest"}));
}

TEST(Export, SetuidBitsAreDropped) {
  TempDir tmp;
  auto st = extract_tar_bytes(tmp / "d", make_tar({file("x", "x", 04755)}));
  ASSERT_TRUE(st) << st.error().message;
  struct stat sb {};
  ASSERT_EQ(stat((tmp / "d/x").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0755u);
}

struct Refusal {
  const char* label;
  std::vector<Entry> entries;
  std::string refused;  // the entry named in the message
  std::string why;
};

TEST(Export, RefusesEscapes) {
  TempDir tmp;
  std::string abs = (tmp / "abs-target").string();
  std::vector<Refusal> cases = {
      {"absolute", {file(abs, "x")}, abs, "absolute path"},
      {"dotdot", {file("../x", "x")}, "../x", "'..'"},
      {"inner dotdot", {file("a/ok", "x"), file("a/../../x", "x")}, "a/../../x", "'..'"},
      {"symlink absolute", {symlink("passwd", "/etc/passwd")}, "passwd", "absolute"},
      {"symlink up", {symlink("a/b/link", "../../../outside")}, "a/b/link", "escapes"},
      {"symlink to parent then through it",
       {symlink("link", ".."), file("link/evil", "x")},
       "link",
       "escapes"},
      {"write through inner symlink",
       {file("sub/keep", "x"), symlink("link", "sub"), file("link/evil", "x")},
       "link/evil",
       "through symlink 'link'"},
      {"symlink chain",
       {symlink("d/l1", ".."), symlink("l2", "d/l1/..")},
       "l2",
       "'..' after a name"},
      {"hardlink absolute", {hardlink("pw", "/etc/passwd")}, "pw", "hardlink to an absolute"},
      {"hardlink up", {hardlink("pw", "../abs-target")}, "pw", "hardlink target has '..'"},
      {"fifo", {Entry{"fifo", AE_IFIFO, "", 0644, "", ""}}, "fifo", "device, fifo"},
      {"device", {Entry{"null", AE_IFCHR, "", 0644, "", ""}}, "null", "device, fifo"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    TempDir box;
    fs::path dest = box / "a/b/dest";
    auto st = extract_tar_bytes(dest, make_tar(c.entries));
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("refused entry '" + c.refused + "'"), std::string::npos)
        << st.error().message;
    EXPECT_NE(st.error().message.find(c.why), std::string::npos) << st.error().message;
    // Nothing beside dest, nothing at the absolute target.
    for (const auto& p : listing(box.path())) {
      EXPECT_TRUE(p == "a" || p == "a/b" || p.rfind("a/b/dest", 0) == 0) << p;
    }
    EXPECT_FALSE(fs::exists(fs::symlink_status(abs)));
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest / "link/evil")));
  }
}

TEST(Export, TruncatedAndGarbageAreErrors) {
  TempDir tmp;
  std::string big(200 * 1024, 'x');
  auto tar = make_tar({file("a", big), file("b", "b")});
  auto st = extract_tar_bytes(tmp / "t", std::string_view(tar).substr(0, tar.size() / 3));
  ASSERT_FALSE(st);
  EXPECT_FALSE(st.error().message.empty());

  std::string garbage;
  for (int i = 0; i < 20000; ++i) garbage += static_cast<char>((i * 7919) % 251);
  st = extract_tar_bytes(tmp / "g", garbage);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("archive"), std::string::npos) << st.error().message;
}

TEST(Export, EmptyStreamIsAnError) {
  TempDir tmp;
  auto st = extract_tar_bytes(tmp / "e", "");
  ASSERT_FALSE(st);  // a VCS export is never empty: at least the end-of-archive blocks
  EXPECT_NE(st.error().message.find("archive"), std::string::npos) << st.error().message;
  // An archive of nothing is fine.
  st = extract_tar_bytes(tmp / "n", make_tar({}));
  EXPECT_TRUE(st) << st.error().message;
  EXPECT_TRUE(fs::is_directory(tmp / "n"));
}

TEST(Export, ProducerFailureIsReported) {
  TempDir tmp;
  auto tar = make_tar({file("a", std::string(100000, 'a'))});
  auto st = extract_tar_stream(tmp / "p", [&](const TarSink& sink) -> Status {
    sink(std::string_view(tar).substr(0, 1000));
    return Error{"git archive failed: bad revision"};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "git archive failed: bad revision");
  // Even after a complete archive, a failing producer fails the export.
  st = extract_tar_stream(tmp / "q", [&](const TarSink& sink) -> Status {
    sink(tar);
    return Error{"exit 1"};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "exit 1");
}

TEST(Export, RefusalStopsAProducerThatKeepsWriting) {
  TempDir tmp;
  auto tar = make_tar({file("../evil", "x")});
  int chunks = 0;
  auto st = extract_tar_stream(tmp / "r", [&](const TarSink& sink) -> Status {
    if (!sink(tar)) return Error{"stopped"};
    std::string more(64 * 1024, '\0');
    while (sink(more)) {
      if (++chunks > 100000) return Error{"never stopped"};  // 6 GB: the reader is gone
    }
    return Error{"stopped"};
  });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("refused entry '../evil'"), std::string::npos)
      << st.error().message;
  EXPECT_LT(chunks, 100000);
}

// Enough small files for the writer threads, a folder whose mode forbids writing (applied
// last), a path written twice (the later entry wins) and hard links to files that may still
// be queued.
TEST(Export, ManySmallFilesReplacementsAndHardLinks) {
  TempDir tmp;
  std::vector<Entry> entries;
  for (int d = 0; d < 20; ++d) {
    std::string dir = "addons/mod" + std::to_string(d) + "/";
    entries.push_back({dir, AE_IFDIR, "", d == 3 ? 0555 : 0755, "", ""});
    for (int f = 0; f < 100; ++f)
      entries.push_back(file(dir + "f" + std::to_string(f), std::string(f * 37, 'a' + d % 26)));
  }
  entries.push_back(file("addons/mod1/f7", "second version\n", 0755));
  entries.push_back(hardlink("copy-of-f9", "addons/mod2/f9"));
  entries.push_back(symlink("addons/mod4/f5", "f6"));  // replaces a file by a link
  auto st = extract_tar_bytes(tmp / "x", make_tar(entries));
  ASSERT_TRUE(st) << st.error().message;
  for (int d = 0; d < 20; ++d) {
    for (int f = 0; f < 100; ++f) {
      fs::path p = tmp / ("x/addons/mod" + std::to_string(d) + "/f" + std::to_string(f));
      if (d == 1 && f == 7) continue;
      if (d == 4 && f == 5) continue;
      ASSERT_EQ(read_text(p), std::string(f * 37, 'a' + d % 26)) << p;
    }
  }
  EXPECT_EQ(read_text(tmp / "x/addons/mod1/f7"), "second version\n");
  struct stat sb {};
  ASSERT_EQ(stat((tmp / "x/addons/mod1/f7").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0755u);
  ASSERT_EQ(stat((tmp / "x/copy-of-f9").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_nlink, 2u);
  EXPECT_EQ(read_text(tmp / "x/copy-of-f9"), std::string(9 * 37, 'c'));
  EXPECT_EQ(fs::read_symlink(tmp / "x/addons/mod4/f5"), "f6");
  ASSERT_EQ(stat((tmp / "x/addons/mod3").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0555u);
  EXPECT_EQ(sb.st_mtime, 1700000000);  // after its files were written
  fs::permissions(tmp / "x/addons/mod3", fs::perms::owner_all, fs::perm_options::add);
}

// The policy only knows the archive; the writer also never follows a symlink that was in the
// export folder before (O_NOFOLLOW on every folder it opens).
TEST(Export, SymlinkAlreadyInTheFolderIsNotFollowed) {
  TempDir tmp;
  fs::create_directories(tmp / "outside");
  fs::create_directories(tmp / "dest");
  fs::create_directory_symlink(tmp / "outside", tmp / "dest/sub");
  auto st = extract_tar_bytes(tmp / "dest", make_tar({file("sub/evil", "x")}));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot extract 'sub/evil'"), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(fs::is_empty(tmp / "outside"));
  st = extract_tar_bytes(tmp / "dest", make_tar({file("sub", "x")}));  // replaces the link
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(read_text(tmp / "dest/sub"), "x");
  EXPECT_TRUE(fs::is_empty(tmp / "outside"));
}

TEST(Export, FiftyMegabytesStream) {
  TempDir tmp;
  std::string data(50 * 1024 * 1024, '\0');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  auto tar = make_tar({file("big.bin", data), file("small", "s")});
  data.clear();
  data.shrink_to_fit();
  auto st = extract_tar_bytes(tmp / "big", tar);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(fs::file_size(tmp / "big/big.bin"), 50u * 1024 * 1024);
  EXPECT_EQ(read_text(tmp / "big/small"), "s");
}

}  // namespace
}  // namespace runbot
