// The files folder as the API manages it: names an UPGRADE URL can carry, uploads written whole and
// described by size and MD5, a file changed on disk described anew, listing without uploads in
// progress or sub-folders, removal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "front/file_catalog.hpp"
#include "protocol/codecs_session.hpp"

namespace zkpush::front {
namespace {

namespace fs = std::filesystem;

class FileCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("zkpush-catalog-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST(FileCatalogNames, OnlyOnePlainPartAnUpgradeLineCanCarry) {
  for (const char* ok : {"emfw.cfg", "FW_1.2-3+b.bin", "a"}) EXPECT_FALSE(bad_file_name(ok)) << ok;
  for (const char* bad : {"", ".x", "..", "a/b", "a\\b", "a b", "a,b", "a\nb", "a?b", "é.bin"})
    EXPECT_TRUE(bad_file_name(bad)) << bad;
  EXPECT_TRUE(bad_file_name(std::string(129, 'a')));
}

TEST_F(FileCatalogTest, SavedFilesAreDescribedListedAndRemoved) {
  FileCatalog catalog(root_);  // the folder does not exist yet
  const auto facts = catalog.save("fw.bin", "firmware bytes");
  EXPECT_EQ(facts.name, "fw.bin");
  EXPECT_EQ(facts.size, 14u);
  EXPECT_EQ(facts.md5, protocol::md5_hex("firmware bytes"));
  {
    std::ifstream in(root_ / "fw.bin");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "firmware bytes");
  }
  catalog.save("fw.bin", "replaced");
  EXPECT_EQ(catalog.describe("fw.bin")->md5, protocol::md5_hex("replaced"));
  // Changed behind the API's back (another size): described from the new content.
  std::ofstream(root_ / "fw.bin", std::ios::trunc) << "changed on disk";
  EXPECT_EQ(catalog.describe("fw.bin")->md5, protocol::md5_hex("changed on disk"));

  std::ofstream(root_ / ".fw.bin.upload-1") << "half";
  fs::create_directories(root_ / "sub");
  std::ofstream(root_ / "sub" / "x.bin") << "x";
  std::ofstream(root_ / "a.bin") << "a";
  auto listed = catalog.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "a.bin");
  EXPECT_EQ(listed[1].name, "fw.bin");

  FileError error;
  EXPECT_FALSE(catalog.describe("missing.bin", &error));
  EXPECT_EQ(error.kind, FileError::Kind::not_found);
  EXPECT_FALSE(catalog.describe("../fw.bin", &error));
  EXPECT_EQ(error.kind, FileError::Kind::bad_name);

  EXPECT_TRUE(catalog.remove("fw.bin"));
  EXPECT_FALSE(fs::exists(root_ / "fw.bin"));
  EXPECT_FALSE(catalog.remove("fw.bin"));
}

}  // namespace
}  // namespace zkpush::front
