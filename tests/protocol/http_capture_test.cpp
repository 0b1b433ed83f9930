// Pasted HTTP captures: request/response lines, headers, bodies, and every sloppiness of the
// manual and of hand-copied traffic.
#include "protocol/http_capture.hpp"

#include <gtest/gtest.h>

#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

TEST(HttpCapture, ParsesACrlfRequestWithBody) {
  std::string wire =
      "POST /iclock/cdata?SN=1&table=rtlog HTTP/1.1\r\n"
      "Host: 10.0.0.1:8088\r\n"
      "Content-Length: 5\r\n"
      "\r\n"
      "a=1\tb";
  auto r = parse_http_request(wire);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->target, "/iclock/cdata?SN=1&table=rtlog");
  EXPECT_EQ(r->version, "HTTP/1.1");
  EXPECT_EQ(r->headers.get("host").value_or(""), "10.0.0.1:8088");
  EXPECT_EQ(r->headers.get("CONTENT-LENGTH").value_or(""), "5");
  EXPECT_EQ(r->body, "a=1\tb");
  EXPECT_FALSE(r->notes.length_mismatch);
  EXPECT_EQ(r->notes.declared_length, 5u);
}

TEST(HttpCapture, AcceptsLfOnlyLineEndings) {
  auto r = parse_http_request("GET /iclock/ping?SN=1 HTTP/1.1\nHost: x\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->target, "/iclock/ping?SN=1");
  EXPECT_EQ(r->headers.list.size(), 1u);
  EXPECT_EQ(r->body, "");
}

TEST(HttpCapture, GluedMethodAndMissingVersion) {
  auto r = parse_http_request("GET/iclock/cdata?SN=3383154200002&options=all\nHost: a\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->target, "/iclock/cdata?SN=3383154200002&options=all");
  EXPECT_EQ(r->version, "");
  EXPECT_TRUE(r->notes.missing_version);
}

TEST(HttpCapture, VersionGluedToTarget) {
  auto r = parse_http_request("GET /iclock/accounts/login/?next=/iclock/data/iclock/HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, "/iclock/accounts/login/?next=/iclock/data/iclock/");
  EXPECT_EQ(r->version, "HTTP/1.1");
}

TEST(HttpCapture, LowerCaseMethodIsUpperCased) {
  auto r = parse_http_request("post /iclock/devicecmd?SN=1 HTTP/1.1\n\nID=1&Return=0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->body, "ID=1&Return=0");
}

TEST(HttpCapture, MethodAloneOnItsLine) {
  auto r = parse_http_request("POST\n/iclock/querydata?SN=1&type=count HTTP/1.1\nContent-Length: 6\n\nuser=5");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, "/iclock/querydata?SN=1&type=count");
  EXPECT_EQ(r->body, "user=5");
}

TEST(HttpCapture, AbsoluteTargetKept) {
  auto r = parse_http_request("GET http://192.168.0.13:89/data/emfw.cfg HTTP/1.1\nRange: bytes=0-99\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, "http://192.168.0.13:89/data/emfw.cfg");
  EXPECT_EQ(r->headers.get("range").value_or(""), "bytes=0-99");
}

TEST(HttpCapture, TargetWithSpacesBeforeVersion) {
  auto r = parse_http_request("GET /iclock/file?SN=1&url=http://h/a b.cfg HTTP/1.1\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target, "/iclock/file?SN=1&url=http://h/a b.cfg");
}

TEST(HttpCapture, ShorterContentLengthKeepsEveryByte) {
  // 7.2: Content-Length 99 for a 96-byte record; 4.4: 855 for 1268 bytes. Never cut.
  std::string body = "user uid=5\tpin=4\nuser uid=6\tpin=5";
  auto r = parse_http_request("POST /iclock/cdata?SN=1 HTTP/1.1\r\nContent-Length: 10\r\n\r\n" + body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, body);
  EXPECT_TRUE(r->notes.length_mismatch);
  EXPECT_EQ(r->notes.declared_length, 10u);
  ASSERT_FALSE(r->notes.text.empty());
}

TEST(HttpCapture, LongerContentLengthKeepsWhatIsThere) {
  auto r = parse_http_request("POST /x HTTP/1.1\r\nContent-Length: 3580\r\n\r\nPublicKey=abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "PublicKey=abc");
  EXPECT_TRUE(r->notes.length_mismatch);
}

TEST(HttpCapture, BodyWithoutBlankLine) {
  auto r = parse_http_request(
      "POST /iclock/cdata?SN=1&table=rtlog HTTP/1.1\nHost: a\ntime=2017-01-10 11:49:32\tpin=0\tevent=27");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.list.size(), 1u);
  EXPECT_EQ(r->body, "time=2017-01-10 11:49:32\tpin=0\tevent=27");
  EXPECT_TRUE(r->notes.missing_blank_line);
}

TEST(HttpCapture, CommandLineIsNotAHeader) {
  auto r = parse_http_response("HTTP/1.1 200 OK\nContent-Type: text/plain\nC:223:SET OPTIONS IPAddress=1.2.3.4");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.list.size(), 1u);
  EXPECT_EQ(r->body, "C:223:SET OPTIONS IPAddress=1.2.3.4");
}

TEST(HttpCapture, FoldedHeaderJoined) {
  auto r = parse_http_request("GET / HTTP/1.1\nSet-Cookie: a=1;\n  Path=/\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.get("Set-Cookie").value_or(""), "a=1; Path=/");
}

TEST(HttpCapture, ChunkedBodyDecoded) {
  auto r = parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nuser\r\n2;ext=1\r\n=1\r\n0\r\nX-Trailer: y\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->body, "user=1");
  EXPECT_TRUE(r->notes.chunked);
  EXPECT_FALSE(r->notes.truncated);
}

TEST(HttpCapture, ChunkedWithLfOnlyAndMissingEnd) {
  auto r = parse_http_response("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n2\nOK\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "OK");
  EXPECT_TRUE(r->notes.truncated);
}

TEST(HttpCapture, ChunkLongerThanCapture) {
  bool truncated = false;
  auto b = decode_chunked("ff\r\nabc", &truncated);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "abc");
  EXPECT_TRUE(truncated);
}

TEST(HttpCapture, BadChunkSizeIsAnError) {
  auto r = parse_http_response("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nzz\nabc\n0\n\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::malformed);
  EXPECT_EQ(r.error().where, "chunk 1");
}

TEST(HttpCapture, ResponseStatusLine) {
  auto r = parse_http_response("HTTP/1.1 406 Not Acceptable\r\nContent-Length:3\r\n\r\n406");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 406);
  EXPECT_EQ(r->reason, "Not Acceptable");
  EXPECT_EQ(r->body, "406");
}

TEST(HttpCapture, ErrorsSayWhatAndWhere) {
  auto a = parse_http_request("");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::incomplete);
  auto b = parse_http_request("/iclock/cdata HTTP/1.1\n\n");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().where, "line 1");
  auto c = parse_http_response("OK");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::malformed);
  auto d = parse_http_response("HTTP/1.1 2x0 OK\n\n");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, Errc::bad_value);
  auto e = parse_http_request("GET\n\n");
  ASSERT_FALSE(e.ok());
}

TEST(HttpCapture, FormatThenParse) {
  std::string wire = format_http_request("POST", "/iclock/cdata?SN=1&table=rtstate",
                                         {{"Host", "h:80"}, {"Content-Type", "application/push"}}, "time=1\tsensor=00");
  EXPECT_NE(wire.find("Content-Length: 16\r\n"), std::string::npos);
  auto r = parse_http_request(wire);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "time=1\tsensor=00");
  EXPECT_FALSE(r->notes.length_mismatch);
  EXPECT_EQ(format_http_request("GET", "/iclock/ping?SN=1", {}, ""), "GET /iclock/ping?SN=1 HTTP/1.1\r\n\r\n");

  std::string res = format_http_response(200, "OK", {{"Date", "Mon, 09 Jan 2017 02:20:19 GMT"}}, "OK");
  auto p = parse_http_response(res);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, 200);
  EXPECT_EQ(p->body, "OK");
  EXPECT_EQ(p->headers.get("date").value_or(""), "Mon, 09 Jan 2017 02:20:19 GMT");
}

TEST(HttpCapture, BinaryBodyKeptByteForByte) {
  std::string body("\x1f\x8b\x08\x00\r\n\r\n\0\xff", 10);
  auto r = parse_http_request("POST /iclock/file?SN=1 HTTP/1.1\r\n\r\n" + body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, body);
}

// Every request and response block of the catalogue parses as a capture, with LF (as stored) and
// with CRLF headers (as on a socket).
TEST(HttpCapture, EveryFixtureBlockParses) {
  int requests = 0, responses = 0;
  for (const auto& file : testing::fixture_files()) {
    auto fx = testing::load_fixture(file);
    for (const auto* b : fx.blocks_of("REQUEST")) {
      for (const std::string& text : {b->content, testing::to_wire(b->content)}) {
        auto r = parse_http_request(text);
        ASSERT_TRUE(r.ok()) << file << ": " << r.error().to_string();
        EXPECT_FALSE(r->method.empty()) << file;
        EXPECT_FALSE(r->target.empty()) << file;
      }
      ++requests;
    }
    for (const auto* b : fx.blocks_of("RESPONSE")) {
      if (b->content.rfind("<<", 0) == 0) continue;  // 7.8, 7.14: lost in the manual
      auto r = parse_http_response(testing::to_wire(b->content));
      ASSERT_TRUE(r.ok()) << file << ": " << r.error().to_string();
      EXPECT_EQ(r->status, 200) << file;
      ++responses;
    }
  }
  EXPECT_EQ(requests, 43);
  EXPECT_EQ(responses, 35);
}

TEST(HttpCapture, FixtureContentLengthMismatchesAreNoted) {
  auto fx = testing::load_fixture("4.4-registration.txt");
  auto r = parse_http_request(testing::to_wire(fx.blocks_of("REQUEST")[0]->content));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->notes.declared_length, 855u);
  EXPECT_TRUE(r->notes.length_mismatch);
  EXPECT_GT(r->body.size(), 1000u);

  auto chunked = testing::load_fixture("1.3-http-intro.txt");
  auto res = parse_http_response(testing::to_wire(chunked.blocks_of("RESPONSE")[0]->content));
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(res->notes.chunked);
  EXPECT_EQ(res->body, "");
}

}  // namespace
}  // namespace zkpush::protocol
