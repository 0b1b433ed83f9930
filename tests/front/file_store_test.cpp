// The upgrade-package folder: which names resolve to a file inside it, and how Range headers read
// (file_store.hpp). Real files, directories, symbolic links and a FIFO in a temporary folder.
#include "front/file_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace zkpush::front {
namespace {

namespace fs = std::filesystem;
using Kind = RangeRequest::Kind;

// ---- Range -------------------------------------------------------------------------------------------

RangeRequest satisfiable(std::string_view header, std::uint64_t size, std::uint64_t first, std::uint64_t last) {
  RangeRequest r = parse_range(header, size);
  EXPECT_EQ(r.kind, Kind::satisfiable) << header << ": " << r.note;
  EXPECT_EQ(r.range.first, first) << header;
  EXPECT_EQ(r.range.last, last) << header;
  return r;
}

TEST(RangeTest, BytesFromTo) {
  satisfiable("bytes=0-1048575", 3145728, 0, 1048575);
  satisfiable("bytes=1048576-2097151", 3145728, 1048576, 2097151);
  EXPECT_EQ(parse_range("bytes=0-99", 1000).range.length(), 100u);
}

TEST(RangeTest, OpenEndedAndClippedEnd) {
  satisfiable("bytes=900-", 1000, 900, 999);
  satisfiable("bytes=900-5000", 1000, 900, 999);
  satisfiable("bytes=999-999", 1000, 999, 999);
  // A position beyond 64 bits saturates rather than wrapping around to a small number.
  satisfiable("bytes=10-99999999999999999999999", 1000, 10, 999);
}

TEST(RangeTest, SuffixIsTheLastBytes) {
  satisfiable("bytes=-100", 1000, 900, 999);
  satisfiable("bytes=-1000", 1000, 0, 999);
  satisfiable("bytes=-5000", 1000, 0, 999);  // longer than the file: all of it
}

TEST(RangeTest, TheManualsFormWithoutUnitAndSloppySpacing) {
  satisfiable("0-1023", 4096, 0, 1023);          // "RANGE: xx-xx" (9.4.1 method 3)
  satisfiable("1024-", 4096, 1024, 4095);
  satisfiable("-10", 4096, 4086, 4095);
  satisfiable("  bytes = 5 - 9 ", 4096, 5, 9);
  satisfiable("BYTES=5-9", 4096, 5, 9);
  satisfiable("bytes:5-9", 4096, 5, 9);
  satisfiable("bytes=0-9,", 4096, 0, 9);  // a trailing comma is not a second range
}

TEST(RangeTest, NoHeaderIsTheWholeFile) {
  EXPECT_EQ(parse_range("", 1000).kind, Kind::none);
  EXPECT_EQ(parse_range("   ", 1000).kind, Kind::none);
}

TEST(RangeTest, UnreadableOrForeignOrSeveralRangesAreIgnored) {
  for (std::string_view h : {"bytes=5-3", "bytes=abc", "bytes=1-x", "bytes=", "bytes=-", "bytes=--5", "items=0-5",
                             "bytes=0-1,5-6", "0-1, 2-3", "12", "bytes=+5-9"}) {
    auto r = parse_range(h, 1000);
    EXPECT_EQ(r.kind, Kind::ignored) << h;
    EXPECT_FALSE(r.note.empty()) << h;
  }
}

TEST(RangeTest, UnsatisfiableRanges) {
  for (std::string_view h : {"bytes=1000-", "bytes=1000-2000", "bytes=5000-6000", "bytes=-0", "1000-1001"}) {
    auto r = parse_range(h, 1000);
    EXPECT_EQ(r.kind, Kind::unsatisfiable) << h;
    EXPECT_FALSE(r.note.empty()) << h;
  }
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::unsatisfiable);  // an empty file has no byte 0
  EXPECT_EQ(parse_range("bytes=-5", 0).kind, Kind::unsatisfiable);
}

TEST(RangeTest, ContentRangeFields) {
  EXPECT_EQ(content_range(ByteRange{0, 1048575}, 3145728), "bytes 0-1048575/3145728");
  EXPECT_EQ(content_range_unsatisfied(3145728), "bytes */3145728");
}

// ---- URLs --------------------------------------------------------------------------------------------

TEST(FileTargetTest, AbsoluteAndRelativeUrls) {
  EXPECT_EQ(file_target_from_url("http://192.168.0.13:89/files/emfw.cfg", false).name, "emfw.cfg");
  EXPECT_EQ(file_target_from_url("https://h/files/F20/admin/emfw.cfg", false).name, "F20/admin/emfw.cfg");
  EXPECT_EQ(file_target_from_url("/files/emfw.cfg", false).name, "emfw.cfg");
  EXPECT_EQ(file_target_from_url("files/emfw.cfg", false).name, "emfw.cfg");
  EXPECT_EQ(file_target_from_url("/FILES/Emfw.CFG", false).name, "Emfw.CFG");  // the name keeps its case
  EXPECT_EQ(file_target_from_url("/files/emfw.cfg?v=2#top", false).name, "emfw.cfg");
  // Outside /files/ the whole path is taken relative to the folder (the manual's own URLs).
  EXPECT_EQ(file_target_from_url("http://192.168.0.13:89/data/emfw.cfg", false).name, "data/emfw.cfg");
  // The manual's method-1 command prints ':' as '*' and '/' as '\'.
  EXPECT_EQ(file_target_from_url("http*//localhost*8088\\fireware\\F20\\admin\\emfw.cfg", false).name,
            "fireware/F20/admin/emfw.cfg");
  EXPECT_EQ(file_target_from_url("http://host:8088", false).name, "");
  EXPECT_EQ(file_target_from_url("files//x", false).name, "x");  // not a scheme
}

TEST(FileTargetTest, Base64PrefixSelectsMethod1) {
  auto t = file_target_from_url("http://h/files/base64/emfw.cfg", false);
  EXPECT_TRUE(t.base64);
  EXPECT_EQ(t.name, "emfw.cfg");
  EXPECT_FALSE(file_target_from_url("http://h/files/emfw.cfg", false).base64);
}

TEST(FileTargetTest, PercentDecodingOnlyWhenAsked) {
  EXPECT_EQ(file_target_from_url("/files/my%20fw.bin", true).name, "my fw.bin");
  EXPECT_EQ(file_target_from_url("/files/%2e%2e/zkpush.db", true).name, "../zkpush.db");
  EXPECT_EQ(file_target_from_url("/files/my%20fw.bin", false).name, "my%20fw.bin");
}

TEST(FileTargetTest, FilesTargets) {
  EXPECT_TRUE(is_files_target("/files/emfw.cfg"));
  EXPECT_TRUE(is_files_target("/Files/emfw.cfg?x=1"));
  EXPECT_TRUE(is_files_target("http://192.168.0.13:89/files/emfw.cfg"));  // absolute form (method 3 example)
  EXPECT_FALSE(is_files_target("/files"));
  EXPECT_FALSE(is_files_target("/filesx/a"));
  EXPECT_FALSE(is_files_target("/iclock/file?SN=1&url=/files/a"));
  EXPECT_FALSE(is_files_target("/data/emfw.cfg"));
}

// ---- the folder ----------------------------------------------------------------------------------------

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("zkpush-files-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "files";
    fs::create_directories(root_ / "sub");
    fs::create_directories(base_ / "files-old");
    write(root_ / "a.bin", "0123456789");
    write(root_ / "sub" / "b.bin", "bee");
    write(base_ / "secret", "do not serve");
    write(base_ / "files-old" / "f", "sibling");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }

  FileError::Kind refused(std::string_view name) {
    FileError error;
    auto file = FileStore(root_).open(name, &error);
    EXPECT_FALSE(file.has_value()) << name;
    EXPECT_FALSE(error.message.empty()) << name;
    return error.kind;
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(FileStoreTest, OpensFilesInsideAndReadsRanges) {
  FileStore store(root_);
  auto a = store.open("a.bin");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->size(), 10u);
  EXPECT_EQ(a->read(0, 10), "0123456789");
  EXPECT_EQ(a->read(3, 4), "3456");
  EXPECT_EQ(a->read(9, 1), "9");
  auto b = store.open("sub/b.bin");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->read(0, 3), "bee");
  // Empty and "." parts are harmless.
  EXPECT_TRUE(store.open("sub//./b.bin").has_value());
}

TEST_F(FileStoreTest, ReadPastTheEndFails) {
  auto a = FileStore(root_).open("a.bin");
  ASSERT_TRUE(a.has_value());
  std::string error;
  EXPECT_FALSE(a->read(5, 10, &error).has_value());
  EXPECT_NE(error.find("ended"), std::string::npos) << error;
}

TEST_F(FileStoreTest, TraversalAndAbsoluteNamesAreRefusedAsNames) {
  using K = FileError::Kind;
  EXPECT_EQ(refused("../secret"), K::bad_name);
  EXPECT_EQ(refused("sub/../../secret"), K::bad_name);
  EXPECT_EQ(refused("sub/../a.bin"), K::bad_name);  // even when it would stay inside
  EXPECT_EQ(refused(".."), K::bad_name);
  EXPECT_EQ(refused("/etc/passwd"), K::bad_name);
  EXPECT_EQ(refused((base_ / "secret").string()), K::bad_name);
  EXPECT_EQ(refused(std::string("a.bin\0../secret", 15)), K::bad_name);
  EXPECT_EQ(refused("a.bin\r\n[error] forged"), K::bad_name);
  EXPECT_EQ(refused(""), K::bad_name);
  EXPECT_EQ(refused("/"), K::bad_name);
  EXPECT_EQ(refused("./"), K::bad_name);
}

TEST_F(FileStoreTest, SymbolicLinksMustStayInside) {
  using K = FileError::Kind;
  fs::create_symlink(base_ / "secret", root_ / "escape");
  fs::create_symlink("../secret", root_ / "escape-relative");
  fs::create_symlink(base_, root_ / "up");
  fs::create_symlink("../files-old/f", root_ / "sibling");  // shares the folder's name as a prefix
  fs::create_symlink("a.bin", root_ / "alias");
  fs::create_symlink("sub", root_ / "subdir");
  EXPECT_EQ(refused("escape"), K::outside);
  EXPECT_EQ(refused("escape-relative"), K::outside);
  EXPECT_EQ(refused("up/secret"), K::outside);
  EXPECT_EQ(refused("sibling"), K::outside);
  auto alias = FileStore(root_).open("alias");
  ASSERT_TRUE(alias.has_value());
  EXPECT_EQ(alias->read(0, 3), "012");
  EXPECT_TRUE(FileStore(root_).open("subdir/b.bin").has_value());
}

TEST_F(FileStoreTest, RootGivenThroughALinkStillWorks) {
  fs::create_symlink(root_, base_ / "link-to-files");
  FileStore store(base_ / "link-to-files");
  EXPECT_TRUE(store.open("a.bin").has_value());
  FileError error;
  EXPECT_FALSE(store.open("../secret", &error).has_value());
  EXPECT_EQ(error.kind, FileError::Kind::bad_name);
}

TEST_F(FileStoreTest, MissingAndNonRegularFiles) {
  using K = FileError::Kind;
  EXPECT_EQ(refused("nope.bin"), K::not_found);
  EXPECT_EQ(refused("sub/nope.bin"), K::not_found);
  EXPECT_EQ(refused("a.bin/x"), K::not_found);  // a file used as a folder
  EXPECT_EQ(refused("sub"), K::not_regular);
  fs::create_symlink("nowhere", root_ / "dangling");
  EXPECT_EQ(refused("dangling"), K::not_found);
  // A FIFO must be refused without waiting for a writer.
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(refused("pipe"), K::not_regular);
}

TEST_F(FileStoreTest, MissingFolderIsNotFound) {
  FileError error;
  EXPECT_FALSE(FileStore(base_ / "absent").open("a.bin", &error).has_value());
  EXPECT_EQ(error.kind, FileError::Kind::not_found);
  EXPECT_NE(error.message.find("files folder"), std::string::npos) << error.message;
}

}  // namespace
}  // namespace zkpush::front
