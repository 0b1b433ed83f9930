// The identity of index-less event records.
#include "storage/event_digest.hpp"

#include <gtest/gtest.h>

namespace zkpush::storage {
namespace {

NewEvent typed(std::string pin) {
  NewEvent e;
  e.sn = "D1";
  e.time_local = "2024-01-01 10:00:00";
  e.pin = std::move(pin);
  e.event = 0;
  return e;
}

TEST(EventDigest, IsTheSha256OfTheRawRecord) {
  NewEvent e = typed("1");
  e.raw = "abc";
  // FIPS 180-2 test vector for "abc".
  const unsigned char expected[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(event_digest(e), std::string(reinterpret_cast<const char*>(expected), 32));
  // Only the record counts when there is one (the typed fields are read from it).
  NewEvent other = e;
  other.pin = "2";
  other.received_at = 99;
  EXPECT_EQ(event_digest(other), event_digest(e));
}

TEST(EventDigest, WithoutRawTextTheFieldsDecide) {
  EXPECT_EQ(event_digest(typed("1")), event_digest(typed("1")));
  EXPECT_NE(event_digest(typed("1")), event_digest(typed("2")));
  NewEvent no_event = typed("1");
  no_event.event.reset();
  EXPECT_NE(event_digest(no_event), event_digest(typed("1")));  // absent is not 0
  NewEvent shifted = typed("1");
  shifted.pin = "";
  shifted.cardno = "1";  // the same characters in another field
  EXPECT_NE(event_digest(shifted), event_digest(typed("1")));
  EXPECT_EQ(event_digest(typed("1")).size(), 32u);
}

}  // namespace
}  // namespace zkpush::storage
