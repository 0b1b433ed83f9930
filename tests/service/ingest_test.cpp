// Ingest (service/ingest.hpp): the pure mapping from records to rows (events with normalised local
// time and UTC from the device's zone, table record keys, photos decoded into content), and uploads
// as units of work over a real SQLite store with a manual clock, no socket: a re-sent rtlog inserts
// nothing twice, rtstate keeps the current state, table records replace by key, and transaction
// records uploaded for an unknown command are still kept as events.
#include "service/ingest.hpp"

#include <gtest/gtest.h>

#include "service/clock.hpp"
#include "service/devices.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

using storage::testing::await;

protocol::Record rtlog(int index, const std::string& time) {
  return protocol::Record{{"time", time},    {"pin", "7"},         {"cardno", "123"},   {"eventaddr", "2"},
                          {"event", "0"},    {"inoutstatus", "1"}, {"verifytype", "4"}, {"index", std::to_string(index)}};
}

TEST(IngestMapping, EventsKeepLocalTimeAndGetUtcFromTheZone) {
  auto e = event_from_record(rtlog(5, "2026-01-02 08:00:00"), "A1", 480, "rtlog", 1'700'000'000);
  EXPECT_EQ(e.sn, "A1");
  EXPECT_EQ(e.time_local, "2026-01-02 08:00:00");
  ASSERT_TRUE(e.time_utc);
  EXPECT_EQ(*e.time_utc, 1767312000);  // 2026-01-02 00:00:00 UTC
  EXPECT_EQ(e.pin, "7");
  EXPECT_EQ(e.door, 2);
  EXPECT_EQ(e.inout, 1);
  EXPECT_EQ(e.index, 5);
  EXPECT_EQ(e.source, "rtlog");
  auto unreadable = event_from_record(protocol::Record{{"time", "yesterday"}, {"pin", "1"}}, "A1", 0, "rtlog", 1);
  EXPECT_FALSE(unreadable.time_utc);
  EXPECT_FALSE(unreadable.index);
}

TEST(IngestMapping, RecordKeysFollowTheCatalogue) {
  EXPECT_EQ(record_key("user", protocol::Record{{"Pin", "12"}, {"Name", "x"}}), "12");
  EXPECT_EQ(record_key("templatev10", protocol::Record{{"pin", "3"}, {"fingerid", "6"}, {"template", "AAAA"}}), "3/6");
  // Missing key field: keyed by the whole record, so identical uploads still fold.
  const protocol::Record odd{{"Name", "x"}};
  EXPECT_EQ(record_key("user", odd), record_key("user", odd));
  EXPECT_NE(record_key("user", odd), record_key("user", protocol::Record{{"Name", "y"}}));
}

TEST(IngestMapping, PhotosAreDecodedIntoContent) {
  auto r = device_record_from("A1", "userpic", protocol::Record{{"pin", "9"}, {"size", "3"}, {"content", "AQID"}}, 5);
  EXPECT_EQ(r.key, "9");
  EXPECT_EQ(r.content, std::string("\x01\x02\x03", 3));
  EXPECT_EQ(r.content_field, "content");
  EXPECT_EQ(r.content_encoding, "binary");
  EXPECT_FALSE(r.fields.has("content"));
}

class IngestService : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::open_store("sqlite:" + (dir_.path() / "zkpush.db").string());
    devices_ = std::make_unique<Devices>(*store_, clock_, DevicePolicy{});
    ASSERT_TRUE(devices_->load().ok());
    ingest_ = std::make_unique<Ingest>(*store_, *devices_, clock_);
    ASSERT_TRUE(await<std::shared_ptr<const storage::Device>>(
                    [&](auto done) { devices_->init("A1", "3.1.2", "10.0.0.1", std::move(done)); })
                    .ok());
  }
  std::int64_t events() {
    return test::read(*store_, [](storage::Reads& r) { return r.events().count("A1"); });
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Devices> devices_;
  std::unique_ptr<Ingest> ingest_;
};

TEST_F(IngestService, AResentRtlogIsNotStoredTwice) {
  const std::vector<protocol::Record> batch{rtlog(1, "2026-01-02 08:00:00"), rtlog(2, "2026-01-02 08:00:05")};
  auto first = await<storage::InsertCounts>([&](auto done) { ingest_->rtlog("A1", batch, std::move(done)); });
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->inserted, 2);
  auto again = await<storage::InsertCounts>([&](auto done) { ingest_->rtlog("A1", batch, std::move(done)); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->inserted, 0);
  EXPECT_EQ(again->duplicates, 2);
  EXPECT_EQ(events(), 2);
}

TEST_F(IngestService, RtstateKeepsTheCurrentState) {
  auto r = await<storage::Unit>([&](auto done) {
    ingest_->rtstate("A1",
                     {protocol::Record{{"time", "2026-01-02 08:00:00"}, {"sensor", "01"}, {"relay", "00"},
                                       {"alarm", "0000000000000000"}}},
                     std::move(done));
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto state = test::read(*store_, [](storage::Reads& reads) { return reads.door_states().get("A1"); });
  ASSERT_TRUE(state);
  EXPECT_EQ(state->sensor, "01");
}

TEST_F(IngestService, TableRecordsReplaceByKey) {
  auto put = [&](const std::string& name) {
    return await<storage::InsertCounts>([&](auto done) {
      ingest_->table_records("A1", "user", {protocol::Record{{"Pin", "1"}, {"Name", name}}}, std::move(done));
    });
  };
  ASSERT_TRUE(put("Ann").ok());
  ASSERT_TRUE(put("Anna").ok());
  auto records = test::read(*store_, [](storage::Reads& r) { return r.device_data().records("A1", "user", 0); });
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields.get_or("Name", ""), "Anna");
}

TEST_F(IngestService, TransactionsForAnUnknownCommandAreStillKeptAsEvents) {
  CommandUpload upload;
  upload.sn = "A1";
  upload.kind = "tabledata";
  upload.cmdid = "999";
  upload.table = "transaction";
  upload.records = {protocol::Record{{"cardno", "1"}, {"pin", "7"}, {"verified", "4"}, {"doorid", "1"},
                                     {"eventtype", "0"}, {"inoutstate", "0"}, {"time_second", "2026-01-02 08:00:00"},
                                     {"index", "44"}}};
  auto r = await<UploadOutcome>([&](auto done) { ingest_->command_upload(upload, std::move(done)); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->command_known);
  EXPECT_EQ(events(), 1);
}

}  // namespace
}  // namespace zkpush::service
