// The campaign rules that need no server: the method "auto" picks from a panel's parameters, the
// URL each method is sent, and the bytes counted per panel and file.
#include <gtest/gtest.h>

#include "protocol/fields.hpp"
#include "service/campaigns.hpp"

namespace zkpush::service {
namespace {

TEST(CampaignMethod, RangesWhenThePanelOffersThemThenControllersBase64ThenRaw) {
  using protocol::Record;
  EXPECT_EQ(choose_upgrade_method(Record{{"SubcontractingUpgradeFunOn", "1"}, {"MachineType", "1"}}), 3);
  EXPECT_EQ(choose_upgrade_method(Record{{"subcontractingupgradefunon", "1"}}), 3);  // keys in any case
  EXPECT_EQ(choose_upgrade_method(Record{{"SubcontractingUpgradeFunOn", "0"}, {"MachineType", "10"}}), 1);
  EXPECT_EQ(choose_upgrade_method(Record{{"MachineType", "4"}}), 1);
  EXPECT_EQ(choose_upgrade_method(Record{{"SubcontractingUpgradeFunOn", "0"}, {"MachineType", "101"}}), 2);
  EXPECT_EQ(choose_upgrade_method(Record{{"MachineType", "x"}}), 2);
  EXPECT_EQ(choose_upgrade_method(Record{}), 2);
}

TEST(CampaignMethod, EachMethodHasItsUrl) {
  EXPECT_EQ(upgrade_url("http://h:8088/", "fw.bin", 1, "S1"), "http://h:8088/files/base64/fw.bin");
  EXPECT_EQ(upgrade_url("http://h:8088", "fw.bin", 2, "S1"), "http://h:8088/files/fw.bin");
  EXPECT_EQ(upgrade_url("http://h:8088", "fw.bin", 3, "S1"), "http://h:8088/files/fw.bin?SN=S1");
}

TEST(CampaignProgress, BytesAddUpPerPanelAndFileUntilReset) {
  DownloadProgress progress;
  progress.add("S1", "a.bin", 100);
  progress.add("S1", "a.bin", 50);
  progress.add("S2", "a.bin", 7);
  progress.add("S1", "b.bin", 1);
  EXPECT_EQ(progress.bytes("S1", "a.bin"), 150u);
  EXPECT_EQ(progress.bytes("S2", "a.bin"), 7u);
  EXPECT_EQ(progress.bytes("S1", "b.bin"), 1u);
  EXPECT_EQ(progress.bytes("S3", "a.bin"), 0u);
  progress.reset("S1", "a.bin");
  EXPECT_EQ(progress.bytes("S1", "a.bin"), 0u);
  EXPECT_EQ(progress.bytes("S2", "a.bin"), 7u);
}

}  // namespace
}  // namespace zkpush::service
