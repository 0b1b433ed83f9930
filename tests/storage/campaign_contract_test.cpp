// The store contract for campaigns (storage/areas/campaigns.hpp), run against every backend: a
// campaign is written with its panels in the unit of work that queues their commands, read back
// as written (panels by serial number), listed newest first with paging, and cancelled once
// (the first cancellation's time stays); unknown campaigns are neither read nor cancelled.
#include <gtest/gtest.h>

#include <algorithm>

#include "storage/store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {


class CampaignContract : public testing::ContractTest {
 protected:
  // A campaign of `file` on panels `sns`, their UPGRADE commands queued in the same unit of work.
  Campaign campaign_on(const std::string& file, const std::vector<std::string>& sns, std::int64_t at) {
    Campaign c;
    c.file = file;
    c.size = 2312;
    c.md5 = "a5bf4dcd6020f408589224274aab132d";
    c.method = "auto";
    c.type = "1";
    c.url_base = "http://10.0.0.1:8088";
    c.created_by = "admin token (configured)";
    c.created_at = at;
    int method = 1;
    for (const auto& sn : sns) {
      CampaignTarget t;
      t.sn = sn;
      t.method = method;
      t.url = c.url_base + "/files/" + file + (method == 3 ? "?SN=" + sn : "");
      method = method % 3 + 1;
      c.targets.push_back(t);
    }
    return c;
  }
  std::int64_t insert(Campaign& c) {
    return write([&c](Transaction& tx) {
      for (auto& t : c.targets) {
        Device d;
        d.sn = t.sn;
        d.approved = true;
        tx.devices().save(d);
        t.command_id = tx.commands()
                           .insert(NewCommand{t.sn, "UPGRADE checksum=" + c.md5 + ",size=2312,url=" + t.url + ",supportsubcontracting=1",
                                              "UPGRADE", CommandPriority::normal, c.created_at, 0},
                                   c.created_at)
                           .id;
      }
      return tx.campaigns().insert(c);
    });
  }
};

TEST_P(CampaignContract, ACampaignIsReadBackWithItsPanelsAndTheirCommands) {
  auto c = campaign_on("emfw.cfg", {"P3", "P1", "P2"}, 100);
  const auto id = insert(c);
  ASSERT_GT(id, 0);
  auto got = read([id](Reads& r) { return r.campaigns().get(id); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, id);
  EXPECT_EQ(got->file, "emfw.cfg");
  EXPECT_EQ(got->size, 2312u);
  EXPECT_EQ(got->md5, c.md5);
  EXPECT_EQ(got->method, "auto");
  EXPECT_EQ(got->url_base, "http://10.0.0.1:8088");
  EXPECT_EQ(got->created_by, "admin token (configured)");
  EXPECT_EQ(got->created_at, 100);
  EXPECT_EQ(got->cancelled_at, 0);
  ASSERT_EQ(got->targets.size(), 3u);
  // By serial number, each naming the command queued with it.
  EXPECT_EQ(got->targets[0].sn, "P1");
  EXPECT_EQ(got->targets[1].sn, "P2");
  EXPECT_EQ(got->targets[2].sn, "P3");
  for (const auto& t : got->targets) {
    EXPECT_EQ(t.campaign_id, id);
    auto original = std::find_if(c.targets.begin(), c.targets.end(), [&t](const CampaignTarget& o) { return o.sn == t.sn; });
    ASSERT_NE(original, c.targets.end());
    EXPECT_EQ(t.method, original->method);
    EXPECT_EQ(t.url, original->url);
    EXPECT_EQ(t.command_id, original->command_id);
    auto command = read([&t](Reads& r) { return r.commands().get(t.command_id); });
    ASSERT_TRUE(command);
    EXPECT_EQ(command->sn, t.sn);
    EXPECT_EQ(command->verb, "UPGRADE");
  }
  EXPECT_FALSE(read([id](Reads& r) { return r.campaigns().get(id + 1); }));
}

TEST_P(CampaignContract, ListedNewestFirstAndPagedByIdBefore) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto c = campaign_on("f" + std::to_string(i) + ".bin", {"L" + std::to_string(i)}, 100 + i);
    ids.push_back(insert(c));
  }
  auto all = read([](Reads& r) { return r.campaigns().list(0, 0); });
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, ids[2]);
  EXPECT_EQ(all[2].id, ids[0]);
  ASSERT_EQ(all[0].targets.size(), 1u);
  EXPECT_EQ(all[0].targets[0].sn, "L2");
  auto page = read([&ids](Reads& r) { return r.campaigns().list(ids[2], 1); });
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, ids[1]);
  EXPECT_EQ(page[0].file, "f1.bin");
}

TEST_P(CampaignContract, CancelledOnceAndUnknownOnesAreNot) {
  auto c = campaign_on("emfw.cfg", {"C1"}, 100);
  const auto id = insert(c);
  EXPECT_TRUE(write([id](Transaction& tx) { return tx.campaigns().cancel(id, 200); }));
  EXPECT_TRUE(write([id](Transaction& tx) { return tx.campaigns().cancel(id, 300); }));
  EXPECT_EQ(read([id](Reads& r) { return r.campaigns().get(id); })->cancelled_at, 200);
  EXPECT_FALSE(write([id](Transaction& tx) { return tx.campaigns().cancel(id + 7, 300); }));
}

TEST_P(CampaignContract, AFailedUnitOfWorkLeavesNoCampaign) {
  auto c = campaign_on("emfw.cfg", {"U1"}, 100);
  auto r = store_->write_now([&c](Transaction& tx) {
    tx.campaigns().insert(c);
    throw Refused(StoreError::Reason::not_found, "a device went away");
  });
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(read([](Reads& r) { return r.campaigns().list(0, 0); }).empty());
}

TEST_P(CampaignContract, EachListedCampaignComesWithItsOwnPanels) {
  auto first = campaign_on("a.bin", {"B2", "A1"}, 100);
  auto second = campaign_on("b.bin", {"c3", "B2", "A1"}, 101);
  auto none = campaign_on("c.bin", {}, 102);
  const auto a = insert(first);
  const auto b = insert(second);
  const auto c = insert(none);
  auto all = read([](Reads& r) { return r.campaigns().list(0, 0); });
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, c);
  EXPECT_TRUE(all[0].targets.empty());
  ASSERT_EQ(all[1].id, b);
  ASSERT_EQ(all[1].targets.size(), 3u);
  // By serial number in byte order: upper case before lower case.
  EXPECT_EQ(all[1].targets[0].sn, "A1");
  EXPECT_EQ(all[1].targets[1].sn, "B2");
  EXPECT_EQ(all[1].targets[2].sn, "c3");
  ASSERT_EQ(all[2].id, a);
  ASSERT_EQ(all[2].targets.size(), 2u);
  EXPECT_EQ(all[2].targets[0].sn, "A1");
  for (const auto& campaign : all)
    for (const auto& t : campaign.targets) EXPECT_EQ(t.campaign_id, campaign.id);
  // The same panel in two campaigns names each campaign's own command.
  EXPECT_NE(all[1].targets[0].command_id, all[2].targets[0].command_id);
  auto got = read([b](Reads& r) { return r.campaigns().get(b); });
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, all[1]);
}

INSTANTIATE_TEST_SUITE_P(Backends, CampaignContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
