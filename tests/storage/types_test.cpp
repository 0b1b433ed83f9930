// Command status names (stored in the database) and where a device's wire ids start.
#include "storage/types.hpp"

#include <gtest/gtest.h>

#include <set>

#include "storage/wire_ids.hpp"

namespace zkpush::storage {
namespace {

TEST(CommandStatusNames, RoundTripAndStayAsStored) {
  std::set<std::string> names;
  for (auto s : {CommandStatus::queued, CommandStatus::sent, CommandStatus::done, CommandStatus::failed,
                 CommandStatus::expired, CommandStatus::cancelled}) {
    std::string name = command_status_name(s);
    names.insert(name);
    EXPECT_EQ(command_status_from_name(name), s) << name;
  }
  EXPECT_EQ(names.size(), 6u);
  // These spellings are in existing databases (commands.status CHECK constraint).
  EXPECT_STREQ(command_status_name(CommandStatus::cancelled), "cancelled");
  EXPECT_STREQ(command_status_name(CommandStatus::expired), "expired");
  EXPECT_FALSE(command_status_from_name("Queued"));
  EXPECT_FALSE(command_status_from_name(""));
  EXPECT_FALSE(command_status_from_name("canceled"));
}

TEST(WireIds, TheFirstIdFollowsTheClockAndFitsThirtyTwoBits) {
  EXPECT_EQ(first_wire_id(kWireIdEpoch + 1), 1);
  EXPECT_EQ(first_wire_id(1'790'000'000), 1'790'000'000 - 1'577'836'800);
  EXPECT_LT(first_wire_id(1'790'000'000), first_wire_id(1'790'000'001));  // a later wipe starts higher
  EXPECT_EQ(first_wire_id(0), 1);                                         // broken clock: still not 0
  EXPECT_EQ(first_wire_id(kWireIdEpoch), 1);
  EXPECT_EQ(first_wire_id(std::int64_t{1} << 40), kFirstWireIdCap);        // far future: capped
  EXPECT_LE(kFirstWireIdCap + 1'000'000'000, kMaxWireId);                  // room left above the cap
}

}  // namespace
}  // namespace zkpush::storage
