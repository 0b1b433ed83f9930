#include "protocol/schema.hpp"

#include <gtest/gtest.h>

namespace zkpush::protocol {
namespace {

TEST(Schema, FindsTablesInAnyCaseAndBracketedVirtualTables) {
  ASSERT_NE(find_table("USER"), nullptr);
  EXPECT_EQ(find_table("user")->name, "user");
  ASSERT_NE(find_table("[APList]"), nullptr);
  EXPECT_EQ(find_table("nosuchtable"), nullptr);
}

TEST(Schema, TablesThatDifferOnlyInCaseAreKeptApart) {
  // "BioData" is the ENROLL_BIO upload (type=BioData), "biodata" the unified template table.
  ASSERT_NE(find_table("BioData"), nullptr);
  EXPECT_EQ(find_table("BioData")->name, "BioData");
  EXPECT_EQ(find_table("biodata")->name, "biodata");
  EXPECT_NE(find_table("BioData"), find_table("biodata"));
  EXPECT_EQ(find_table("BIODATA")->name, "biodata");  // any other case: the first in catalogue order
}

TEST(Schema, UserFieldsInWireOrderWithTypes) {
  const TableSpec* user = find_table("user");
  ASSERT_NE(user, nullptr);
  EXPECT_TRUE(user->supports(op_update));
  EXPECT_TRUE(user->supports(op_upload));
  EXPECT_FALSE(user->supports(op_account));
  ASSERT_GE(user->update_fields.size(), 8u);
  EXPECT_EQ(user->update_fields[0].name, "CardNo");
  EXPECT_EQ(user->update_fields[0].type, FieldType::cardno);
  EXPECT_EQ(user->upload_prefix, "user");
  const FieldSpec* pin = user->field("PIN");
  ASSERT_NE(pin, nullptr);
  EXPECT_EQ(pin->name, "Pin");
  const FieldSpec* privilege = user->update_field("privilege");
  ASSERT_NE(privilege, nullptr);
  EXPECT_FALSE(privilege->values.empty());
}

TEST(Schema, TimezoneHasTheExpandedPattern) {
  const TableSpec* tz = find_table("timezone");
  ASSERT_NE(tz, nullptr);
  EXPECT_NE(tz->update_field("Hol3Time3"), nullptr);
  EXPECT_EQ(tz->update_field("Hol3Time3")->type, FieldType::timerange);
}

TEST(Schema, UploadOnlyTablesHaveNoPrefixWhenTheManualHasNone) {
  const TableSpec* rtlog = find_table("rtlog");
  ASSERT_NE(rtlog, nullptr);
  EXPECT_TRUE(rtlog->upload_prefix.empty());
  EXPECT_NE(rtlog->upload_field("Alarmtype"), nullptr);
  EXPECT_EQ(find_table("transaction")->upload_prefix, "transaction");
}

}  // namespace
}  // namespace zkpush::protocol
