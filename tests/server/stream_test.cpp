// GET /api/v1/stream against the real server: events stored by a device reach an open stream as
// `id:` + `data:` messages with the JSON of GET /api/v1/events; a client that reconnects with
// Last-Event-ID gets what it missed; the bearer token authenticates it and no Accept header is
// needed.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "server/serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;

const std::string kToken = "stream-test-token";

class StreamTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kToken;
    start(config);
  }
  // Opens the stream on a new connection; the head read.
  std::unique_ptr<TestClient> open(const std::string& extra_headers = "", const std::string& query = "") {
    auto client = std::make_unique<TestClient>(app_->port());
    EXPECT_TRUE(client->send("GET /api/v1/stream" + query + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kToken +
                             "\r\n" + extra_headers + "\r\n"));
    auto head = client->read_head();
    EXPECT_TRUE(head.has_value());
    if (head) {
      EXPECT_EQ(head->status, 200);
      EXPECT_EQ(head->header("Content-Type").value_or(""), "text/event-stream");
    }
    return client;
  }
  // A message: its id, data and event type ("" when the message has no `event:` line).
  struct Message {
    std::int64_t first = -1;
    json second;
    std::string kind;
  };
  // Messages read until `n` have come; comment lines skipped.
  std::vector<Message> messages(TestClient& client, std::size_t n) {
    std::vector<Message> out;
    std::string text;
    while (out.size() < n) {
      auto chunk = client.read_chunk();
      if (!chunk) {
        ADD_FAILURE() << "stream ended or timed out after " << out.size() << " message(s): " << text;
        break;
      }
      text += *chunk;
      std::size_t end;
      while ((end = text.find("\n\n")) != std::string::npos) {
        const std::string message = text.substr(0, end);
        text.erase(0, end + 2);
        std::int64_t id = -1;
        json data;
        std::string kind;
        std::size_t pos = 0;
        while (pos < message.size()) {
          auto eol = message.find('\n', pos);
          if (eol == std::string::npos) eol = message.size();
          const auto line = message.substr(pos, eol - pos);
          if (line.rfind("id: ", 0) == 0) id = std::stoll(line.substr(4));
          if (line.rfind("data: ", 0) == 0) data = json::parse(line.substr(6));
          if (line.rfind("event: ", 0) == 0) kind = line.substr(7);
          pos = eol + 1;
        }
        if (id >= 0) out.push_back(Message{id, data, kind});
      }
    }
    return out;
  }
};

TEST_F(StreamTest, StoredEventsReachTheStreamAndAReconnectMissesNothing) {
  const std::string sn = "STRM0001";
  const std::string token = handshake(sn);
  // One event stored before the stream opens: not sent (the stream starts from now).
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 10:00:00")}), token).status, 200);
  auto client = open();
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(2, "2026-12-06 10:00:01"), rtlog_record(3, "2026-12-06 10:00:02")}),
                 token).status,
            200);
  auto got = messages(*client, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_LT(got[0].first, got[1].first);
  // The same JSON as GET /api/v1/events.
  auto listed = send_raw(http::test::request("GET", "/api/v1/events?sn=" + sn, "", "Authorization: Bearer " + kToken + "\r\n"));
  auto events = json::parse(listed.body);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(got[0].second, events[1]);
  EXPECT_EQ(got[1].second, events[2]);
  EXPECT_EQ(got[0].second["sn"], sn);
  client->close();

  // Gone while one more event came: the reconnect with Last-Event-ID gets it at once.
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(4, "2026-12-06 10:00:03")}), token).status, 200);
  auto again = open("Last-Event-ID: " + std::to_string(got[1].first) + "\r\n");
  auto missed = messages(*again, 1);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].second, json::parse(send_raw(http::test::request("GET", "/api/v1/events?sn=" + sn, "",
                                                                      "Authorization: Bearer " + kToken + "\r\n")).body)[3]);
  // Another device's events are not on a stream for this one.
  auto only = open("", "?sn=" + sn + "&after_id=" + std::to_string(missed[0].first));
  const std::string other = "STRM0002";
  const std::string other_token = handshake(other);
  ASSERT_EQ(send(p::format_rtlog_upload(other, {rtlog_record(1, "2026-12-06 10:00:04")}), other_token).status, 200);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(5, "2026-12-06 10:00:05")}), token).status, 200);
  auto mine = messages(*only, 1);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].second["sn"], sn);

  // No token: 401, and nothing streamed.
  auto refused = send_raw(http::test::request("GET", "/api/v1/stream"));
  EXPECT_EQ(refused.status, 401);
  auto bad = send_raw(http::test::request("GET", "/api/v1/stream", "", "Authorization: Bearer " + kToken + "\r\nLast-Event-ID: x\r\n"));
  EXPECT_EQ(bad.status, 400);
}

TEST_F(StreamTest, OtherKindsComeWhenAskedForWithTheirEventType) {
  const std::string sn = "STRM0003";
  const std::string token = handshake(sn);
  auto client = open("", "?kinds=door_state,command&sn=" + sn);
  // An event is not on this stream; a change of door state and a command that closed are.
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 10:00:00")}), token).status, 200);
  ASSERT_EQ(send(p::format_rtstate_upload(sn, {p::Record{{"time", "2026-12-06 10:00:01"}, {"sensor", "01"},
                                                         {"relay", "00"}, {"alarm", "00"}}}),
                 token).status,
            200);
  const auto id = enqueue(sn, "CONTROL DEVICE 01010105");
  ASSERT_TRUE(answer_next_command(sn, token, 0));
  auto got = messages(*client, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "door_state");
  EXPECT_EQ(got[0].second["sn"], sn);
  EXPECT_TRUE(got[0].second["doors"].is_array());
  EXPECT_EQ(got[1].kind, "command");
  EXPECT_EQ(got[1].second["id"], id);
  EXPECT_EQ(got[1].second["status"], "done");
  EXPECT_LT(got[0].first, got[1].first);

  auto bad = send_raw(http::test::request("GET", "/api/v1/stream?kinds=events", "", "Authorization: Bearer " + kToken + "\r\n"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "kinds");
}

TEST_F(StreamTest, ManyStreamsAndALateOneAllGetEveryEventOnce) {
  const std::string sn = "STRM0004";
  const std::string token = handshake(sn);
  // Twenty streams share the recent end of the log; the reads and renderings are shared, the
  // messages are not: each stream gets all of them, in order, once.
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(open());
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<p::Record> records;
    for (int i = 1; i <= 10; ++i) records.push_back(rtlog_record(batch * 10 + i, "2026-12-06 11:00:00"));
    ASSERT_EQ(send(p::format_rtlog_upload(sn, records), token).status, 200);
  }
  std::vector<std::int64_t> first_ids;
  for (auto& client : clients) {
    auto got = messages(*client, 50);
    ASSERT_EQ(got.size(), 50u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].second["index"], static_cast<int>(i) + 1);
      if (i > 0) {
        EXPECT_GT(got[i].first, got[i - 1].first);
      }
    }
    if (first_ids.empty()) {
      for (const auto& m : got) first_ids.push_back(m.first);
    } else {
      for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].first, first_ids[i]);
    }
  }
  // One that starts from the beginning (behind the shared part) reads the store, then joins.
  auto late = open("Last-Event-ID: 0\r\n");
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(51, "2026-12-06 11:00:01")}), token).status, 200);
  auto all = messages(*late, 51);
  ASSERT_EQ(all.size(), 51u);
  EXPECT_EQ(all[50].second["index"], 51);
  EXPECT_EQ(all[0].second["index"], 1);
}

}  // namespace
}  // namespace zkpush::server::e2e
