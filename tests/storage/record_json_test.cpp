// Records as stored in text columns: every record comes back exactly.
#include "storage/record_json.hpp"

#include <gtest/gtest.h>

namespace zkpush::storage {
namespace {

using protocol::Field;
using protocol::Record;

TEST(RecordJson, EveryFieldComesBackExactly) {
  Record r;
  r.fields = {
      Field{"~DeviceName", "inBio, 460"},                        // a comma: not a comma list
      Field{"Name", "tab\there and\nnew line = fine"},          // separators of the other formats
      Field{"transaction", "", false},                          // a bare token
      Field{"Empty", ""},                                       // an empty value is not a bare token
      Field{"Name", "\xE5\xBC\xA0\xE4\xB8\x89"},                // UTF-8, and a repeated key
      Field{"GbName", "\xD5\xC5\xC8\xFD"},                      // GB2312 bytes, not UTF-8
      Field{std::string("K\0ey", 4), std::string("\x00\xFF", 2)},  // NUL and 0xFF bytes
  };
  std::string text = record_to_json(r);
  EXPECT_EQ(record_from_json(text), r);
  EXPECT_EQ(text.find('\t'), std::string::npos);  // escaped, one line

  r.prefix = "user";
  EXPECT_EQ(record_from_json(record_to_json(r)), r);
  EXPECT_EQ(record_from_json(record_to_json(Record{})), Record{});
}

TEST(RecordJson, TheTextIsReadableJson) {
  Record r{{"Pin", "1"}, {"Name", "Zhang"}};
  EXPECT_EQ(record_to_json(r), R"([["Pin","1"],["Name","Zhang"]])");
  Record bad{{"N", "\xFF"}};
  EXPECT_EQ(record_to_json(bad), R"([["N",{"hex":"ff"}]])");
  r.prefix = "user";
  EXPECT_EQ(record_to_json(r), R"({"fields":[["Pin","1"],["Name","Zhang"]],"prefix":"user"})");
}

TEST(RecordJson, DamagedTextIsAnError) {
  for (const char* text : {"", "not json", "{}", R"({"prefix":"x"})", "[1]", R"([["a","b","c"]])", "[[]]",
                           R"([["a",{"hex":"zz"}]])", R"([["a",{"hex":"abc"}]])", R"([["a",{"x":"1"}]])", "\"s\""})
    EXPECT_THROW(record_from_json(text), std::runtime_error) << text;
}

}  // namespace
}  // namespace zkpush::storage
