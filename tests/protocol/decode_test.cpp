// Whole messages decoded (protocol/decode.hpp), the functions `zkpush decode` and the server's wire
// trace share: a request decoded from its text and from its parts agree, a response's body is read
// as commands, and describe_answer says what an answer means for the endpoint it answers.
#include <gtest/gtest.h>

#include "protocol/decode.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/http_capture.hpp"
#include "protocol/responses.hpp"

namespace zkpush::protocol {
namespace {

using json = nlohmann::ordered_json;

TEST(DecodeCore, ARequestDecodesTheSameFromItsTextAndFromItsParts) {
  const auto rtlog = format_rtlog_upload("CGXH201760099", {Record{{"time", "2026-01-02 08:00:00"}, {"pin", "7"},
                                                                  {"event", "0"}, {"eventaddr", "1"}}});
  std::vector<HttpHeader> headers = rtlog.headers;
  headers.push_back({"Cookie", "token=0123456789abcdef0123456789abcdef"});
  const std::string text = format_http_request(rtlog.method, rtlog.target, headers, rtlog.body);
  const Decoded whole = decode_message(text);
  ASSERT_TRUE(whole.ok) << whole.view.dump();
  HttpRequestCapture parts;
  parts.method = rtlog.method;
  parts.target = rtlog.target;
  parts.version = "HTTP/1.1";
  for (const auto& h : headers) parts.headers.add(h.name, h.value);
  parts.headers.add("Content-Length", std::to_string(rtlog.body.size()));
  parts.body = rtlog.body;
  const Decoded from_parts = decode_request(parts);
  ASSERT_TRUE(from_parts.ok);
  EXPECT_EQ(whole.view, from_parts.view);
  EXPECT_EQ(whole.view["endpoint"], "rtlog");
  EXPECT_EQ(whole.view["records"][0]["pin"], "7");
  EXPECT_EQ(whole.view["token"]["value"], "0123456789abcdef0123456789abcdef");
}

TEST(DecodeCore, WhatTheInputIsIsReadFromItsFirstBytes) {
  EXPECT_EQ(decode_message("C:12:CONTROL DEVICE 01010105").view["verb"], "CONTROL DEVICE");
  EXPECT_EQ(decode_message("ID=12&Return=0&CMD=CONTROL DEVICE").view["results"].size(), 1u);
  EXPECT_TRUE(decode_message("CONTROL DEVICE 01010105").view["id"].is_null());
  EXPECT_EQ(decode_message("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK").view["status"], 200);
  const Decoded empty = decode_message("  \r\n");
  EXPECT_FALSE(empty.ok);
  EXPECT_EQ(empty.view, (json{{"error", "empty input"}, {"where", "byte 0"}}));
}

TEST(DecodeCore, AResponseCarriesItsCommandsAndWithItsEndpointWhatItMeans) {
  HttpResponseCapture r;
  r.version = "HTTP/1.1";
  r.status = 200;
  r.reason = "OK";
  r.body = "C:1:CONTROL DEVICE 01010105\nC:2:DATA QUERY tablename=user,fielddesc=*,filter=*\n";
  const Decoded without = decode_response(r);
  ASSERT_TRUE(without.ok);
  EXPECT_EQ(without.view["commands"].size(), 2u);
  EXPECT_FALSE(without.view.contains("answer"));
  const Decoded with = decode_response(r, {}, Endpoint::getrequest);
  EXPECT_EQ(with.view["answer"]["kind"], "commands");
  EXPECT_EQ(with.view["answer"]["commands"], without.view["commands"]);
}

TEST(DecodeCore, DescribeAnswerNamesEachKindOfAnswer) {
  EXPECT_EQ(describe_answer(Endpoint::rtlog, 200, "OK"), (json{{"kind", "ok"}}));
  EXPECT_EQ(describe_answer(Endpoint::tabledata_user, 200, "user=3"),
            (json{{"kind", "table_ack"}, {"table", "user"}, {"count", 3}}));
  EXPECT_EQ(describe_answer(Endpoint::getrequest, 200, "OK"), (json{{"kind", "commands"}, {"commands", json::array()}}));
  const auto registry = describe_answer(Endpoint::registry, 200, format_registry_answer("abc123"));
  EXPECT_EQ(registry, (json{{"kind", "registry"}, {"accepted", true}, {"registry_code", "abc123"}}));
  EXPECT_EQ(describe_answer(Endpoint::registry, 406, "406"), (json{{"kind", "registry"}, {"accepted", false}}));
  const auto init = describe_answer(Endpoint::init, 200, "registry=ok\nRegistryCode=abc123\nRequestDelay=30\n");
  EXPECT_EQ(init["kind"], "init");
  EXPECT_EQ(init["registered"], true);
  EXPECT_EQ(init["config"]["records"]["RequestDelay"], "30");
  EXPECT_EQ(describe_answer(Endpoint::push_config, 200, "RequestDelay=30\n")["kind"], "config");
  const auto time = describe_answer(Endpoint::rtdata_time, 200, format_time_answer(TimeAnswer{583512660, "+0800"}));
  EXPECT_EQ(time["kind"], "time");
  EXPECT_EQ(time["server_tz"], "+0800");
  EXPECT_TRUE(time["datetime_gmt"].is_string());
  EXPECT_EQ(describe_answer(Endpoint::rtlog, 200, "something else"), (json{{"kind", "text"}}));
  const auto refused = describe_answer(Endpoint::getrequest, 401, "bad token");
  EXPECT_TRUE(refused.contains("error")) << refused.dump();
  EXPECT_TRUE(refused.contains("where")) << refused.dump();
}

}  // namespace
}  // namespace zkpush::protocol
