// The API token: configured, or generated once into <data>/api-token (0600) and reused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "server/api_token.hpp"

namespace zkpush::server {
namespace {

class ApiTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("zkpush-api-token-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file_text() const {
    std::ifstream in(dir_ / "api-token");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write_file(const std::string& text) const { std::ofstream(dir_ / "api-token") << text; }

  std::filesystem::path dir_;
};

TEST_F(ApiTokenTest, ConfiguredTokenIsUsedAndNothingWritten) {
  auto token = resolve_api_token("given-secret", dir_);
  EXPECT_EQ(token.value, "given-secret");
  EXPECT_EQ(token.source, ApiToken::Source::configured);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "api-token"));
}

TEST_F(ApiTokenTest, GeneratedOnceWithMode0600ThenReused) {
  auto first = resolve_api_token("", dir_);
  EXPECT_EQ(first.source, ApiToken::Source::generated);
  EXPECT_EQ(first.path, dir_ / "api-token");
  ASSERT_EQ(first.value.size(), 64u);
  EXPECT_EQ(first.value.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(file_text(), first.value + "\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "api-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary file is left beside it.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);

  auto second = resolve_api_token("", dir_);
  EXPECT_EQ(second.source, ApiToken::Source::stored);
  EXPECT_EQ(second.value, first.value);

  // Another data folder gets another token.
  const auto other = dir_ / "other";
  std::filesystem::create_directories(other);
  EXPECT_NE(resolve_api_token("", other).value, first.value);
}

TEST_F(ApiTokenTest, HandWrittenTokenIsReadWithoutItsNewline) {
  write_file("my-own-token\r\n");
  auto token = resolve_api_token("", dir_);
  EXPECT_EQ(token.source, ApiToken::Source::stored);
  EXPECT_EQ(token.value, "my-own-token");
}

TEST_F(ApiTokenTest, EmptyFileGetsANewToken) {
  write_file("\n");
  auto token = resolve_api_token("", dir_);
  EXPECT_EQ(token.source, ApiToken::Source::generated);
  EXPECT_EQ(file_text(), token.value + "\n");
}

TEST_F(ApiTokenTest, GarbageFileIsAnError) {
  write_file("two words\n");
  try {
    resolve_api_token("", dir_);
    FAIL() << "accepted a token with a blank";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does not hold a token"), std::string::npos) << e.what();
  }
}

TEST_F(ApiTokenTest, DataPathThroughAFileIsAnError) {
  // Fails for root too, unlike a read-only folder: <file>/api-token can be neither read nor created.
  std::ofstream(dir_ / "plain-file") << "x";
  try {
    resolve_api_token("", dir_ / "plain-file");
    FAIL() << "resolved a token under a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("plain-file/api-token"), std::string::npos) << e.what();
  }
}

TEST_F(ApiTokenTest, FolderInPlaceOfTheFileIsAnError) {
  std::filesystem::create_directories(dir_ / "api-token");
  EXPECT_THROW(resolve_api_token("", dir_), std::runtime_error);
}

}  // namespace
}  // namespace zkpush::server
