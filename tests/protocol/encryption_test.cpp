// The encryption module (protocol/encryption.hpp): the exchange of 4.2/4.3 between two key pairs,
// and the session channel refusing tampered, truncated, replayed and foreign bodies.
#include "protocol/encryption.hpp"

#include <gtest/gtest.h>

#include "protocol/base64.hpp"

namespace zkpush::protocol::encryption {
namespace {

// Both ends of one session, after a full exchange: device key P1, server key P2, R1 and R2 each
// travelling encrypted to the other side's public key.
struct EncPair {
  Channel device;
  Channel server;
};

EncPair exchanged() {
  auto p1 = KeyPair::generate();
  auto p2 = KeyPair::generate();
  EXPECT_TRUE(p1.ok() && p2.ok());
  const std::string r1 = new_factor();
  const std::string r2 = new_factor();
  auto r1_wire = encrypt_factor(p2->public_key(), r1);  // device -> server
  auto r2_wire = encrypt_factor(p1->public_key(), r2);  // server -> device
  EXPECT_TRUE(r1_wire.ok() && r2_wire.ok());
  auto r1_at_server = p2->decrypt_factor(*r1_wire);
  auto r2_at_device = p1->decrypt_factor(*r2_wire);
  EXPECT_TRUE(r1_at_server.ok() && r2_at_device.ok());
  EXPECT_EQ(*r1_at_server, r1);
  EXPECT_EQ(*r2_at_device, r2);
  auto device = Channel::derive(r1, *r2_at_device, Direction::device_to_server);
  auto server = Channel::derive(*r1_at_server, r2, Direction::server_to_device);
  EXPECT_TRUE(device.ok() && server.ok());
  return EncPair{std::move(*device), std::move(*server)};
}

// The wire text with one byte of its decoded form changed.
std::string flip_byte(const std::string& wire, std::size_t at) {
  auto bytes = base64_decode(std::string_view(wire).substr(kMarker.size()));
  EXPECT_TRUE(bytes.has_value());
  (*bytes)[at] = static_cast<char>((*bytes)[at] ^ 0x01);
  return std::string(kMarker) + base64_encode(*bytes);
}

TEST(Encryption, FactorsTravelEncryptedToThePeersKey) {
  auto k = KeyPair::generate();
  ASSERT_TRUE(k.ok());
  // base64 of a DER SubjectPublicKeyInfo of a 2048-bit key; the manual's examples wrap such values
  // with spaces, which are ignored.
  EXPECT_GT(k->public_key().size(), 390u);
  std::string wrapped = k->public_key();
  wrapped.insert(60, " ");
  wrapped.insert(130, "\r\n");
  const std::string r = new_factor();
  ASSERT_EQ(r.size(), kFactorBytes);
  auto wire = encrypt_factor(wrapped, r);
  ASSERT_TRUE(wire.ok()) << wire.error().to_string();
  EXPECT_EQ(wire->find(std::string_view(r)), std::string::npos);
  auto back = k->decrypt_factor(*wire);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, r);
  // Another key cannot read it; garbage is refused, not a crash.
  auto other = KeyPair::generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->decrypt_factor(*wire).ok());
  EXPECT_FALSE(k->decrypt_factor("not base64 !").ok());
  EXPECT_FALSE(k->decrypt_factor("").ok());
  EXPECT_FALSE(encrypt_factor("AAAA", r).ok());
  EXPECT_FALSE(encrypt_factor(k->public_key(), "short").ok());
}

TEST(Encryption, RoundTripBothDirections) {
  auto s = exchanged();
  const std::string rtlog = "time=2026-12-07 05:00:00\tpin=7\tcardno=4242\tsitecode=0\tlinkid=0\teventaddr=1\tevent=0";
  const std::string up = s.device.seal(rtlog);
  EXPECT_TRUE(looks_encrypted(up));
  EXPECT_EQ(up.find("cardno"), std::string::npos);
  auto opened = s.server.open(up);
  ASSERT_TRUE(opened.ok);
  EXPECT_EQ(opened.plain, rtlog);
  const std::string down = s.server.seal("C:1:CONTROL DEVICE 01010105");
  auto answer = s.device.open(down);
  ASSERT_TRUE(answer.ok);
  EXPECT_EQ(answer.plain, "C:1:CONTROL DEVICE 01010105");
  // The same text twice gives two different bodies (a new sequence number and nonce each time).
  EXPECT_NE(s.device.seal(rtlog), s.device.seal(rtlog));
}

TEST(Encryption, EmptyBodyRoundTripsAndIsStillAuthenticated) {
  auto s = exchanged();
  const std::string wire = s.device.seal("");
  EXPECT_TRUE(looks_encrypted(wire));
  auto opened = s.server.open(wire);
  ASSERT_TRUE(opened.ok);
  EXPECT_EQ(opened.plain, "");
  auto forged = s.server.open(flip_byte(s.device.seal(""), 10));  // a tag byte
  EXPECT_FALSE(forged.ok);
  EXPECT_EQ(forged.failure, Failure::authentication);
}

TEST(Encryption, TamperedByteFailsAuthentication) {
  auto s = exchanged();
  const std::string wire = s.device.seal("pin=1\tcardno=99");
  for (std::size_t at : {std::size_t{3}, std::size_t{9}, std::size_t{12}}) {  // sequence number, text, text
    auto r = s.server.open(flip_byte(wire, at));
    EXPECT_FALSE(r.ok) << at;
    EXPECT_EQ(r.failure, Failure::authentication) << at;
  }
  // The untouched body still opens: the failures did not move the replay window.
  EXPECT_TRUE(s.server.open(wire).ok);
}

TEST(Encryption, TruncatedBodyIsRefused) {
  auto s = exchanged();
  const std::string wire = s.device.seal("pin=1\tcardno=99\tevent=0");
  auto bytes = base64_decode(std::string_view(wire).substr(kMarker.size()));
  ASSERT_TRUE(bytes.has_value());
  const std::string shorter = std::string(kMarker) + base64_encode(bytes->substr(0, bytes->size() - 4));
  auto r = s.server.open(shorter);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, Failure::authentication);
  auto tiny = s.server.open(std::string(kMarker) + base64_encode(bytes->substr(0, 20)));
  EXPECT_FALSE(tiny.ok);
  EXPECT_EQ(tiny.failure, Failure::truncated);
  auto marker_only = s.server.open(kMarker);
  EXPECT_FALSE(marker_only.ok);
  EXPECT_EQ(marker_only.failure, Failure::truncated);
  EXPECT_TRUE(s.server.open(wire).ok);
}

TEST(Encryption, ReplayedBodyIsRefusedOutOfOrderOnesAreNot) {
  auto s = exchanged();
  const std::string first = s.device.seal("one");
  const std::string second = s.device.seal("two");
  const std::string third = s.device.seal("three");
  ASSERT_TRUE(s.server.open(first).ok);
  auto again = s.server.open(first);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.failure, Failure::replayed);
  // Requests on two connections may arrive out of order: a newer one first, then the older one.
  ASSERT_TRUE(s.server.open(third).ok);
  ASSERT_TRUE(s.server.open(second).ok);
  EXPECT_EQ(s.server.open(second).failure, Failure::replayed);
  EXPECT_EQ(s.server.open(third).failure, Failure::replayed);
  // Older than the window: refused even if never seen.
  const std::string old = s.device.seal("old");
  for (int i = 0; i < 70; ++i) ASSERT_TRUE(s.server.open(s.device.seal("x")).ok);
  EXPECT_EQ(s.server.open(old).failure, Failure::replayed);
}

TEST(Encryption, WrongKeyOrDirectionFails) {
  auto a = exchanged();
  auto b = exchanged();
  auto r = b.server.open(a.device.seal("pin=1"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, Failure::authentication);
  // A device's own body reflected back to it is not a server answer.
  auto reflected = a.device.open(a.device.seal("pin=1"));
  EXPECT_FALSE(reflected.ok);
  EXPECT_EQ(reflected.failure, Failure::authentication);
}

TEST(Encryption, PlainOrMalformedTextIsNotABody) {
  auto s = exchanged();
  EXPECT_FALSE(looks_encrypted("pin=1\tcardno=2"));
  auto plain = s.server.open("pin=1\tcardno=2");
  EXPECT_FALSE(plain.ok);
  EXPECT_EQ(plain.failure, Failure::malformed);
  auto junk = s.server.open("ZKE1:***");
  EXPECT_FALSE(junk.ok);
  EXPECT_EQ(junk.failure, Failure::malformed);
  EXPECT_EQ(failure_name(Failure::replayed), "replayed");
}

}  // namespace
}  // namespace zkpush::protocol::encryption
