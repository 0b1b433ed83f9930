// Communication encryption over real sockets (docs/encryption.md): the test plays the device with
// the protocol module, byte by byte. The exchange, encrypted uploads and answers, and the refusals:
// tampered, truncated and replayed bodies, a plain body after the exchange, an encrypted one without
// it; plain devices in optional and required mode; the exchange refused when encryption is off.
#include "protocol/base64.hpp"
#include "protocol/encryption.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

namespace enc = protocol::encryption;

struct EncDevice {
  std::string sn;
  std::optional<enc::Channel> channel;
  std::string token;
};

class EncryptionServe : public ServeFixture {
 protected:
  void start_with(EncryptionMode mode) {
    ServerConfig config;
    config.encryption = mode;
    start(config);
  }

  // 4.2 and 4.3 as a device does them: the channel is set when both succeeded.
  void exchange_keys(EncDevice& d) {
    auto keys = enc::KeyPair::generate();
    ASSERT_TRUE(keys.ok());
    auto pub = send(p::format_exchange_publickey(d.sn, keys->public_key()));
    ASSERT_EQ(pub.status, 200) << pub.body;
    const p::Record pub_answer = p::parse_config_answer(pub.body);
    auto server_key = pub_answer.get("PublicKey");
    ASSERT_TRUE(server_key.has_value()) << pub.body;
    const std::string r1 = enc::new_factor();
    auto r1_wire = enc::encrypt_factor(*server_key, r1);
    ASSERT_TRUE(r1_wire.ok()) << r1_wire.error().to_string();
    auto fac = send(p::format_exchange_factors(d.sn, *r1_wire));
    ASSERT_EQ(fac.status, 200) << fac.body;
    const p::Record fac_answer = p::parse_config_answer(fac.body);
    auto factors = fac_answer.get("Factors");
    ASSERT_TRUE(factors.has_value()) << fac.body;
    auto r2 = keys->decrypt_factor(*factors);
    ASSERT_TRUE(r2.ok()) << r2.error().to_string();
    auto channel = enc::Channel::derive(r1, *r2, enc::Direction::device_to_server);
    ASSERT_TRUE(channel.ok());
    d.channel = std::move(*channel);
  }

  RawResponse send_sealed(EncDevice& d, p::OutgoingRequest r) {
    if (!r.body.empty()) r.body = d.channel->seal(r.body);
    return send(r, d.token);
  }
  // The answer's plain text; a test failure when it is not an encrypted answer that opens.
  std::string opened(EncDevice& d, const RawResponse& r) {
    EXPECT_TRUE(enc::looks_encrypted(r.body)) << r.body;
    auto o = d.channel->open(r.body);
    EXPECT_TRUE(o.ok) << r.body;
    return o.plain;
  }

  // init -> exchange -> registry -> push, everything after the exchange encrypted.
  void encrypted_handshake(EncDevice& d) {
    auto init = send(p::format_init_request(d.sn));
    ASSERT_EQ(init.status, 200);
    ASSERT_NO_FATAL_FAILURE(exchange_keys(d));
    auto reg = send_sealed(d, p::format_registry_request(d.sn, registry_options()));
    ASSERT_EQ(reg.status, 200) << reg.body;
    auto accepted = p::parse_registry_answer(reg.status, opened(d, reg));
    ASSERT_TRUE(accepted.accepted);
    auto push = send_sealed(d, p::format_push_config_request(d.sn));
    ASSERT_EQ(push.status, 200);
    auto config = p::parse_config_answer(opened(d, push));
    ASSERT_TRUE(config.get("SessionID").has_value());
    d.token = p::compute_token(accepted.registry_code, d.sn, config.get_or("SessionID", ""));
  }

  std::uint64_t failures(std::string_view reason) { return app_->metrics().encryption_failures(reason); }
};

TEST_F(EncryptionServe, OffRefusesTheExchangeClearly) {
  start();  // encryption off by default
  auto init = send(p::format_init_request("ENCOFF1"));
  ASSERT_EQ(init.status, 200);
  auto keys = enc::KeyPair::generate();
  ASSERT_TRUE(keys.ok());
  auto pub = send(p::format_exchange_publickey("ENCOFF1", keys->public_key()));
  EXPECT_EQ(pub.status, 501);
  EXPECT_NE(pub.body.find("encryption is off"), std::string::npos) << pub.body;
  // And the device goes on in plain text.
  const std::string token = handshake("ENCOFF2");
  auto up = send(p::format_rtlog_upload("ENCOFF2", {rtlog_record(1, "2026-12-07 05:00:00")}), token);
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "OK");
}

TEST_F(EncryptionServe, EncryptedUploadIsStoredAndItsAnswerEncrypted) {
  start_with(EncryptionMode::optional);
  EncDevice d{"ENCUP1", {}, {}};
  ASSERT_NO_FATAL_FAILURE(encrypted_handshake(d));
  auto up = send_sealed(d, p::format_rtlog_upload(d.sn, {rtlog_record(1, "2026-12-07 05:00:00")}));
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(opened(d, up), "OK");
  EXPECT_EQ(stored_event_count(d.sn), 1);
  // A poll without body: its answer is encrypted too.
  auto poll = send_sealed(d, p::format_getrequest(d.sn));
  ASSERT_EQ(poll.status, 200);
  EXPECT_EQ(opened(d, poll), "OK");
}

// A photo whose plain upload fits the transport's 4 MiB limit still fits once encrypted (base64
// makes it 4/3 larger): the limit grows for a device with a session.
TEST_F(EncryptionServe, AnEncryptedBodyGetsRoomForItsEncoding) {
  start_with(EncryptionMode::optional);
  EncDevice d{"ENCBIG1", {}, {}};
  ASSERT_NO_FATAL_FAILURE(encrypted_handshake(d));
  std::string photo(2'700'000, '\0');
  for (std::size_t i = 0; i < photo.size(); ++i) photo[i] = static_cast<char>(i * 31 % 251);
  const std::string b64 = p::base64_encode(photo);
  auto upload = p::format_tabledata_upload(
      d.sn, "userpic", {p::Record{{"pin", "7"}, {"filename", "7.jpg"}, {"size", std::to_string(b64.size())}, {"content", b64}}});
  ASSERT_LT(upload.body.size(), std::size_t{4} << 20);
  auto a = send_sealed(d, upload);
  ASSERT_EQ(a.status, 200) << a.body.substr(0, 200);
  EXPECT_EQ(opened(d, a), "userpic=1");
  auto pics = stored_records(d.sn, "userpic", 0);
  ASSERT_EQ(pics.size(), 1u);
  EXPECT_EQ(pics[0].content, photo);
}

TEST_F(EncryptionServe, TamperedTruncatedAndReplayedBodiesAreRefusedAndNotStored) {
  start_with(EncryptionMode::optional);
  EncDevice d{"ENCBAD1", {}, {}};
  ASSERT_NO_FATAL_FAILURE(encrypted_handshake(d));
  auto rtlog = [&](int index) { return p::format_rtlog_upload(d.sn, {rtlog_record(index, "2026-12-07 05:00:00")}); };

  // Tampered: one byte of the ciphertext changed.
  {
    auto r = rtlog(1);
    const std::string wire = d.channel->seal(r.body);
    auto bytes = p::base64_decode(std::string_view(wire).substr(enc::kMarker.size()));
    ASSERT_TRUE(bytes.has_value());
    (*bytes)[12] = static_cast<char>((*bytes)[12] ^ 0x20);
    r.body = std::string(enc::kMarker) + p::base64_encode(*bytes);
    auto a = send(r, d.token);
    EXPECT_EQ(a.status, 400);
    EXPECT_NE(a.body.find("authentication"), std::string::npos) << a.body;
    EXPECT_FALSE(enc::looks_encrypted(a.body));  // the refusal is readable without the keys
  }
  // Truncated: the last bytes cut off.
  {
    auto r = rtlog(2);
    const std::string wire = d.channel->seal(r.body);
    auto bytes = p::base64_decode(std::string_view(wire).substr(enc::kMarker.size()));
    ASSERT_TRUE(bytes.has_value());
    r.body = std::string(enc::kMarker) + p::base64_encode(bytes->substr(0, bytes->size() - 5));
    EXPECT_EQ(send(r, d.token).status, 400);
  }
  EXPECT_EQ(stored_event_count(d.sn), 0);
  EXPECT_EQ(failures("authentication"), 2u);

  // Replayed: a good body accepted once, then sent again as it was.
  auto good = rtlog(3);
  good.body = d.channel->seal(good.body);
  auto first = send(good, d.token);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(stored_event_count(d.sn), 1);
  // (The replay carries the same record, which ingest would count as a duplicate: the count alone
  // cannot tell; the 400 and the counter say it never got that far.)
  auto again = send(good, d.token);
  EXPECT_EQ(again.status, 400);
  EXPECT_NE(again.body.find("replayed"), std::string::npos) << again.body;
  EXPECT_EQ(failures("replayed"), 1u);

  // A plain body after the exchange is not taken either.
  auto plain = send(rtlog(4), d.token);
  EXPECT_EQ(plain.status, 400);
  EXPECT_EQ(failures("plain_body"), 1u);
  EXPECT_EQ(stored_event_count(d.sn), 1);

  // The session still works after the refusals.
  auto next = send_sealed(d, rtlog(5));
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(opened(d, next), "OK");
  EXPECT_EQ(stored_event_count(d.sn), 2);

  // A reconnect (init) ends the session: the old keys are refused.
  ASSERT_EQ(send(p::format_init_request(d.sn)).status, 200);
  auto stale = send_sealed(d, rtlog(6));
  EXPECT_EQ(stale.status, 400);
  EXPECT_EQ(failures("no_session"), 1u);
  EXPECT_EQ(stored_event_count(d.sn), 2);

  auto metrics = send_raw(http::test::request("GET", "/metrics", {}, ""));
  EXPECT_NE(metrics.body.find("zkpush_encryption_failures_total{reason=\"replayed\"} 1"), std::string::npos);
}

TEST_F(EncryptionServe, ADeviceThatDoesNotAskStaysPlainText) {
  start_with(EncryptionMode::optional);
  const std::string token = handshake("ENCPLAIN1");  // pushver 3.1.2, but no exchange
  auto up = send(p::format_rtlog_upload("ENCPLAIN1", {rtlog_record(1, "2026-12-07 05:00:00")}), token);
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "OK");
  EXPECT_EQ(stored_event_count("ENCPLAIN1"), 1);
  // A device whose version has no encryption (below 3.1.1) is refused the exchange: plain text.
  ASSERT_EQ(send(p::format_init_request("ENCOLD1", "3.0.1")).status, 200);
  auto keys = enc::KeyPair::generate();
  ASSERT_TRUE(keys.ok());
  auto pub = send(p::format_exchange_publickey("ENCOLD1", keys->public_key()));
  EXPECT_EQ(pub.status, 403);
  EXPECT_NE(pub.body.find("3.0.1"), std::string::npos) << pub.body;
}

TEST_F(EncryptionServe, RequiredRefusesPlainDevices) {
  start_with(EncryptionMode::required);
  // Announces 3.1.2 but does not exchange keys: its registration is refused.
  ASSERT_EQ(send(p::format_init_request("ENCREQ1")).status, 200);
  auto reg = send(p::format_registry_request("ENCREQ1", registry_options()));
  EXPECT_EQ(reg.status, 403);
  EXPECT_NE(reg.body.find("encryption required"), std::string::npos) << reg.body;
  // A version without encryption is refused at init.
  auto old = send(p::format_init_request("ENCREQ2", "3.0.1"));
  EXPECT_EQ(old.status, 403);
  EXPECT_NE(old.body.find("3.0.1"), std::string::npos) << old.body;
  EXPECT_EQ(failures("not_encrypted"), 2u);
  // One that exchanges keys gets through.
  EncDevice d{"ENCREQ3", {}, {}};
  ASSERT_NO_FATAL_FAILURE(encrypted_handshake(d));
  auto up = send_sealed(d, p::format_rtlog_upload(d.sn, {rtlog_record(1, "2026-12-07 05:00:00")}));
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(opened(d, up), "OK");
  EXPECT_EQ(stored_event_count(d.sn), 1);
}

TEST_F(EncryptionServe, BadExchangeInputIsRefused) {
  start_with(EncryptionMode::optional);
  ASSERT_EQ(send(p::format_init_request("ENCX1")).status, 200);
  // Factors before any public key, a key that is not one, factors that are not ours.
  auto early = send(p::format_exchange_factors("ENCX1", "AAAA"));
  EXPECT_EQ(early.status, 400);
  EXPECT_NE(early.body.find("publickey"), std::string::npos) << early.body;
  EXPECT_EQ(send(p::format_exchange_publickey("ENCX1", "bm90IGEga2V5")).status, 400);
  auto keys = enc::KeyPair::generate();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(send(p::format_exchange_publickey("ENCX1", keys->public_key())).status, 200);
  auto foreign = enc::encrypt_factor(keys->public_key(), enc::new_factor());  // to the device's own key
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(send(p::format_exchange_factors("ENCX1", *foreign)).status, 400);
  // An encrypted body from a device that has no session.
  p::OutgoingRequest forged = p::format_rtlog_upload("ENCX1", {rtlog_record(1, "2026-12-07 05:00:00")});
  forged.body = std::string(enc::kMarker) + "AAAAAAAAAAE=";
  EXPECT_EQ(send(forged).status, 400);
  EXPECT_EQ(stored_event_count("ENCX1"), 0);
}

}  // namespace
}  // namespace zkpush::server::e2e
