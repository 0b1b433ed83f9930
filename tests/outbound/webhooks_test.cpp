// Webhooks against the real server and a real HTTP receiver on loopback: a subscription made through
// the API gets what happens from then on, each message a signed POST (the signature checked here
// with its own HMAC), in order; a failing receiver is retried with the same delivery id, then the
// message becomes a dead letter that the API lists and delivers again on request; the cursor
// survives a restart; bad subscriptions are refused with the field at fault, and only admins make
// them.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "front/api/webhook_url.hpp"
#include "server/serve_fixture.hpp"
#include "support/http_receiver.hpp"

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;

const std::string kHookAdmin = "webhook-test-admin-token";

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &n);
  char hex[3];
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

class WebhookTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kHookAdmin;
    start(config);
  }
  RawResponse api(const std::string& method, const std::string& target, const json& body = nullptr,
                  const std::string& token = kHookAdmin) {
    std::string headers = "Authorization: Bearer " + token + "\r\n";
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers += "Content-Type: application/json\r\n";
    }
    return send_raw(http::test::request(method, target, text, headers));
  }
  std::int64_t subscribe(const json& body) {
    auto r = api("POST", "/api/v1/webhooks", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("id", std::int64_t{0});
  }
  // The requests that carried access events, in the order they came.
  static std::vector<test::Received> event_deliveries(const std::vector<test::Received>& all) {
    std::vector<test::Received> out;
    for (const auto& r : all)
      if (r.header("X-Zkpush-Event") == "event") out.push_back(r);
    return out;
  }
  std::vector<test::Received> wait_events(test::HttpReceiver& receiver, std::size_t n) {
    for (int i = 0; i < 200; ++i) {
      auto got = event_deliveries(receiver.received());
      if (got.size() >= n) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return event_deliveries(receiver.received());
  }
  test::HttpReceiver receiver_;
};

TEST_F(WebhookTest, WhatHappensIsPostedSignedAndInOrder) {
  auto made = api("POST", "/api/v1/webhooks",
                  {{"url", receiver_.url("/in?site=1")}, {"secret", "s3cret"}, {"events", {"*", "device"}}});
  ASSERT_EQ(made.status, 201) << made.body;
  const auto hook = json::parse(made.body);
  EXPECT_GT(hook["id"].get<std::int64_t>(), 0);
  EXPECT_FALSE(hook.contains("secret"));

  const std::string sn = "HOOK0001";
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 10:00:00"), rtlog_record(2, "2026-12-06 10:00:01"),
                                             rtlog_record(3, "2026-12-06 10:00:02")}),
                 token).status,
            200);
  auto got = wait_events(receiver_, 3);
  ASSERT_EQ(got.size(), 3u);
  auto listed = json::parse(api("GET", "/api/v1/events?sn=" + sn).body);
  ASSERT_EQ(listed.size(), 3u);
  std::int64_t last_delivery = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& r = got[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/in?site=1");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.header("X-Zkpush-Signature"), "sha256=" + hmac_hex("s3cret", r.body));
    EXPECT_EQ(r.header("X-Zkpush-Webhook"), std::to_string(hook["id"].get<std::int64_t>()));
    const auto delivery = std::stoll(r.header("X-Zkpush-Delivery"));
    EXPECT_GT(delivery, last_delivery);  // in the order of the log
    last_delivery = delivery;
    EXPECT_EQ(json::parse(r.body), listed[i]);  // the event's JSON, as GET /api/v1/events shows it
  }
  // Presence, asked for by name: the device came online.
  bool online = false;
  for (int i = 0; i < 100 && !online; ++i) {
    for (const auto& r : receiver_.received()) {
      if (r.header("X-Zkpush-Event") != "device") continue;
      auto body = json::parse(r.body);
      online = body["sn"] == sn && body["state"] == "online";
    }
    if (!online) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(online);

  auto state = json::parse(api("GET", "/api/v1/webhooks/" + std::to_string(hook["id"].get<std::int64_t>())).body);
  EXPECT_GE(state["delivered"].get<std::int64_t>(), 3);
  EXPECT_EQ(state["last_status"], 200);
  EXPECT_EQ(state["dead_letters"], 0);
}

TEST_F(WebhookTest, AFailingReceiverIsRetriedThenDeadLetteredAndRedeliveredOnRequest) {
  receiver_.answer_with(500);
  const auto id = subscribe({{"url", receiver_.url()}, {"secret", "k"}, {"events", {"event"}}, {"max_attempts", 2}});
  const std::string sn = "HOOK0002";
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 11:00:00")}), token).status, 200);
  // Two attempts of the same delivery, a second or so apart; then a dead letter.
  auto tried = wait_events(receiver_, 2);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0].header("X-Zkpush-Delivery"), tried[1].header("X-Zkpush-Delivery"));
  EXPECT_EQ(tried[0].body, tried[1].body);
  json dead;
  for (int i = 0; i < 100; ++i) {
    dead = json::parse(api("GET", "/api/v1/webhooks/" + std::to_string(id) + "/dead-letters").body);
    if (dead.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(dead.size(), 1u) << dead.dump();
  EXPECT_EQ(dead[0]["attempts"], 2);
  EXPECT_EQ(dead[0]["last_status"], 500);
  EXPECT_EQ(std::to_string(dead[0]["message_id"].get<std::int64_t>()), tried[0].header("X-Zkpush-Delivery"));

  // Delivery goes on with the next message once the receiver is back.
  receiver_.answer_with(200);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(2, "2026-12-06 11:00:01")}), token).status, 200);
  auto after = wait_events(receiver_, 3);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(json::parse(after[2].body)["index"], 2);

  // Asked again, the dead letter is delivered and leaves the list.
  auto again = api("POST", "/api/v1/webhooks/" + std::to_string(id) + "/redeliver");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["redelivering"], 1);
  auto redelivered = wait_events(receiver_, 4);
  ASSERT_EQ(redelivered.size(), 4u);
  EXPECT_EQ(redelivered[3].header("X-Zkpush-Delivery"), tried[0].header("X-Zkpush-Delivery"));
  EXPECT_EQ(json::parse(redelivered[3].body)["index"], 1);
  for (int i = 0; i < 100; ++i) {
    dead = json::parse(api("GET", "/api/v1/webhooks/" + std::to_string(id) + "/dead-letters").body);
    if (dead.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(dead.empty()) << dead.dump();
}

TEST_F(WebhookTest, WhatWasNotDeliveredIsDeliveredAfterARestart) {
  receiver_.answer_with(503);
  subscribe({{"url", receiver_.url()}, {"secret", "k"}, {"events", {"event"}}});
  const std::string sn = "HOOK0003";
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(7, "2026-12-06 12:00:00")}), token).status, 200);
  ASSERT_FALSE(wait_events(receiver_, 1).empty());  // tried, refused
  restart();
  receiver_.answer_with(200);
  // Retried from the stored cursor by the new process (its first attempt comes at once).
  for (int i = 0; i < 200; ++i) {
    auto got = event_deliveries(receiver_.received());
    if (!got.empty() && got.back().header("X-Zkpush-Delivery") == got.front().header("X-Zkpush-Delivery") &&
        got.size() >= 2)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto got = event_deliveries(receiver_.received());
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got.back().header("X-Zkpush-Delivery"), got.front().header("X-Zkpush-Delivery"));
  EXPECT_EQ(json::parse(got.back().body)["index"], 7);
}

TEST_F(WebhookTest, BadSubscriptionsAreRefusedWithTheFieldAndOnlyAdminsMakeThem) {
  auto refused = [this](const json& body, const std::string& field) {
    auto r = api("POST", "/api/v1/webhooks", body);
    EXPECT_EQ(r.status, 400) << body.dump() << " " << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j.value("field", ""), field) << r.body;
    EXPECT_FALSE(j.value("code", "").empty()) << r.body;
  };
  refused({{"url", "https://example.org/x"}, {"secret", "k"}}, "url");
  refused({{"url", "ftp://example.org/x"}, {"secret", "k"}}, "url");
  refused({{"url", "http://user:pw@example.org/x"}, {"secret", "k"}}, "url");
  refused({{"url", "http://example.org:99999/x"}, {"secret", "k"}}, "url");
  refused({{"url", receiver_.url()}}, "secret");
  refused({{"url", receiver_.url()}, {"secret", ""}}, "secret");
  refused({{"url", receiver_.url()}, {"secret", "k"}, {"events", {"evnt"}}}, "events");
  refused({{"url", receiver_.url()}, {"secret", "k"}, {"events", json::array()}}, "events");
  refused({{"url", receiver_.url()}, {"secret", "k"}, {"max_attempts", 0}}, "max_attempts");
  refused({{"url", receiver_.url()}, {"secret", "k"}, {"evnets", {"*"}}}, "evnets");
  EXPECT_EQ(json::parse(api("POST", "/api/v1/webhooks", {{"url", receiver_.url()}, {"secret", "k"}, {"x", 1}}).body)["code"],
            "unknown_field");

  auto op = json::parse(api("POST", "/api/v1/tokens", {{"name", "op"}, {"role", "operator"}}).body)["token"].get<std::string>();
  EXPECT_EQ(api("POST", "/api/v1/webhooks", {{"url", receiver_.url()}, {"secret", "k"}}, op).status, 403);
  EXPECT_EQ(api("GET", "/api/v1/webhooks", nullptr, op).status, 403);

  EXPECT_EQ(api("GET", "/api/v1/webhooks/99").status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/webhooks/99").status, 404);
  EXPECT_EQ(api("GET", "/api/v1/webhooks/x").status, 400);
  const auto id = subscribe({{"url", receiver_.url()}, {"secret", "k"}});
  auto listed = json::parse(api("GET", "/api/v1/webhooks").body);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["events"], json::array({"*"}));
  // "*" (every access event) alone: the contract's subscription gets events and nothing else.
  const std::string only_events_sn = "HOOK0005";
  const auto only = subscribe({{"url", receiver_.url("/only")}, {"secret", "k"}, {"events", {"*"}}});
  const std::string only_token = handshake(only_events_sn);
  ASSERT_EQ(send(p::format_rtstate_upload(only_events_sn, {p::Record{{"time", "2026-12-06 13:00:00"}, {"sensor", "01"},
                                                                     {"relay", "00"}, {"alarm", "00"}}}),
                 only_token).status,
            200);
  ASSERT_EQ(send(p::format_rtlog_upload(only_events_sn, {rtlog_record(1, "2026-12-06 13:00:01")}), only_token).status, 200);
  bool came = false;
  for (int i = 0; i < 200 && !came; ++i) {
    for (const auto& r : receiver_.received()) came = came || r.target == "/only";
    if (!came) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(came);
  for (const auto& r : receiver_.received()) {
    if (r.target != "/only") continue;
    EXPECT_EQ(r.header("X-Zkpush-Event"), "event") << r.body;
    EXPECT_TRUE(json::parse(r.body).contains("pin")) << r.body;
  }
  EXPECT_EQ(api("DELETE", "/api/v1/webhooks/" + std::to_string(only)).status, 200);
  EXPECT_EQ(api("DELETE", "/api/v1/webhooks/" + std::to_string(id)).status, 200);
  EXPECT_TRUE(json::parse(api("GET", "/api/v1/webhooks").body).empty());
  // Deleted: nothing more is delivered (once a delivery in flight at the deletion has landed).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto before = receiver_.received().size();
  const std::string sn = "HOOK0004";
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 13:00:00")}), token).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(receiver_.received().size(), before);
}

TEST(WebhookUrl, ReadsHostPortAndTarget) {
  using front::api::parse_webhook_url;
  auto u = parse_webhook_url("http://hooks.example.org:8080/a/b?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "hooks.example.org");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?x=1");
  EXPECT_EQ(u->host_header(), "hooks.example.org:8080");
  u = parse_webhook_url("HTTP://[::1]/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->host_header(), "[::1]");
  EXPECT_EQ(parse_webhook_url("http://h?q")->target, "/?q");
  std::string why;
  EXPECT_FALSE(parse_webhook_url("http://h:0/", &why));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(parse_webhook_url("http:///x"));
  EXPECT_FALSE(parse_webhook_url("http://a b/"));
  EXPECT_FALSE(parse_webhook_url("http://h:/"));
}

}  // namespace
}  // namespace zkpush::server::e2e
