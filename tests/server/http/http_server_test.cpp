// The HTTP transport against real sockets: message framing, limits, errors and headers.
#include "server/http/http_server.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "server/http/http_date.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::server::http::test {
namespace {

std::string echo(std::string_view method, std::string_view target, std::string_view body = {}) {
  return std::string(method) + " " + std::string(target) + " " + std::string(body);
}

// Parses an IMF-fixdate strictly; -1 when it is not one.
std::time_t parse_http_date(const std::string& s) {
  if (s.size() != 29 || s.substr(25) != " GMT") return -1;
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return -1;
  return timegm(&tm);
}

void expect_standard_headers(const RawResponse& r) {
  auto date = r.header("Date");
  ASSERT_TRUE(date) << "status " << r.status;
  std::time_t t = parse_http_date(*date);
  ASSERT_NE(t, -1) << *date;
  EXPECT_LE(std::abs(std::difftime(t, std::time(nullptr))), 5.0) << *date;
  EXPECT_EQ(r.header("Server"), "zkpush");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  Harness h;
  TestClient c(h.port());
  for (int i = 0; i < 5; ++i) {
    std::string target = "/iclock/getrequest?SN=" + std::to_string(i);
    std::string body = i % 2 ? "" : "record " + std::to_string(i);
    ASSERT_TRUE(c.send(request(body.empty() ? "GET" : "POST", target, body)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, echo(body.empty() ? "GET" : "POST", target, body));
    EXPECT_FALSE(r->header("Connection").has_value()) << *r->header("Connection");
  }
  EXPECT_FALSE(c.peer_closed(100ms));
  EXPECT_EQ(h.counters().connections_accepted.load(), 1u);
  EXPECT_EQ(h.counters().requests.load(), 5u);
  EXPECT_EQ(h.handler.last_remote().address().to_string(), "127.0.0.1");
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  Harness h;
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/iclock/cdata?SN=1", {}, "Connection: close\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.peer_closed(2s));
  c.close();  // the server lingers until the client closes too
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }, 1s));
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveIsAsked) {
  Harness h;
  {
    TestClient c(h.port());
    ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, echo("GET", "/a"));
    EXPECT_TRUE(c.peer_closed(2s));
  }
  TestClient c(h.port());
  ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, echo("GET", "/c"));
}

TEST(HttpServer, ChunkedBodyIsAssembled) {
  Harness h;
  TestClient c(h.port());
  ASSERT_TRUE(
      c.send("POST /iclock/cdata?SN=1&table=rtlog HTTP/1.1\r\nHost: t\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"
             "7\r\nHello, \r\n"
             "8;ext=1\r\nchunked \r\n"));
  std::this_thread::sleep_for(50ms);  // the body arrives in several reads
  ASSERT_TRUE(c.send("5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, echo("POST", "/iclock/cdata?SN=1&table=rtlog", "Hello, chunked world"));
}

TEST(HttpServer, BodyIsPassedAsBytes) {
  Harness h;
  TestClient c(h.port());
  std::string body("a\0b\xff\xfe\r\n\tc", 10);
  ASSERT_TRUE(c.send(request("POST", "/x", body)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, echo("POST", "/x", body));
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBodyThenTheResponse) {
  Harness h;
  TestClient c(h.port());
  ASSERT_TRUE(
      c.send("POST /iclock/cdata HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 11\r\n\r\n"));
  auto interim = c.read_response(2s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  EXPECT_EQ(h.handler.calls.load(), 0);
  ASSERT_TRUE(c.send("hello world"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, echo("POST", "/iclock/cdata", "hello world"));
}

TEST(HttpServer, ExpectContinueWithOversizeLengthGets413AndNo100) {
  Harness h([](ServerConfig& c) { c.limits.body_limit = 1024; });
  TestClient c(h.port());
  ASSERT_TRUE(
      c.send("POST /iclock/cdata HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 1000000\r\n\r\n"));
  auto r = c.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("Connection"), "close");
  expect_standard_headers(*r);
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_EQ(h.handler.calls.load(), 0);
  EXPECT_EQ(h.counters().responses_4xx.load(), 1u);
}

TEST(HttpServer, OversizeBodyWithoutExpectGets413) {
  Harness h([](ServerConfig& c) { c.limits.body_limit = 1024; });
  TestClient c(h.port());
  // Small enough to sit in the socket buffers: the client writes it all, then reads.
  ASSERT_TRUE(c.send(request("POST", "/iclock/cdata", std::string(64 * 1024, 'x'))));
  auto r = c.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("exceeds the limit of 1024"), std::string::npos) << r->body;
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_EQ(h.handler.calls.load(), 0);
}

TEST(HttpServer, HandlerChoosesTheBodyLimitFromTheHead) {
  Harness h({}, [](Harness& t) {
    t.handler.on_body_limit = [](const RequestHead& head) -> std::optional<std::size_t> {
      EXPECT_FALSE(head.header("Host").empty());
      if (head.target().rfind("/big", 0) == 0) return 100'000;
      return 100;
    };
  });
  {
    TestClient c(h.port());
    ASSERT_TRUE(c.send(request("POST", "/small", std::string(200, 's'))));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  TestClient c(h.port());
  std::string big(50'000, 'b');
  ASSERT_TRUE(c.send(request("POST", "/big", big)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == echo("POST", "/big", big)) << r->body.size();
  EXPECT_EQ(h.handler.limit_calls.load(), 2);
  EXPECT_EQ(h.handler.calls.load(), 1);
}

TEST(HttpServer, LargeBodyAboveBeastsDefaultLimitIsRead) {
  // Beast refuses bodies over 1 MB unless told otherwise; devices send their MaxPackageSize.
  Harness h;
  TestClient c(h.port());
  std::string body(3 * 1024 * 1024, 'z');
  std::thread writer([&] { c.send(request("POST", "/iclock/cdata", body)); });
  auto r = c.read_response(10s);
  writer.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), echo("POST", "/iclock/cdata", body).size());
}

TEST(HttpServer, ChunkedBodyOverTheLimitGets413) {
  Harness h([](ServerConfig& c) { c.limits.body_limit = 100; });
  TestClient c(h.port());
  std::string chunk(64, 'c');
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                     chunk + "\r\n40\r\n" + chunk + "\r\n40\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_EQ(h.handler.calls.load(), 0);
}

TEST(HttpServer, OversizeHeadersGet431) {
  Harness h([](ServerConfig& c) { c.limits.header_limit = 1024; });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/x", {}, "X-Big: " + std::string(4096, 'h') + "\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  expect_standard_headers(*r);
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_EQ(h.handler.calls.load(), 0);
}

TEST(HttpServer, MalformedRequestGets400WithAReasonAndOthersAreStillServed) {
  Harness h;
  TestClient keep(h.port());  // a healthy connection opened before the bad one
  ASSERT_TRUE(keep.send(request("GET", "/before")));
  ASSERT_TRUE(keep.read_response());

  for (const char* bad :
       {"THIS IS NOT HTTP\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "GET  HTTP/1.1\r\n\r\n"}) {
    TestClient c(h.port());
    ASSERT_TRUE(c.send(bad));
    auto r = c.read_response();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_EQ(r->body.find('\n'), r->body.size() - 1) << "one line: " << r->body;
    EXPECT_NE(r->body.find("malformed request"), std::string::npos) << r->body;
    expect_standard_headers(*r);
    EXPECT_TRUE(c.peer_closed(3s)) << bad;
  }
  EXPECT_EQ(h.handler.calls.load(), 1);

  ASSERT_TRUE(keep.send(request("GET", "/after")));
  auto r = keep.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, echo("GET", "/after"));
  TestClient fresh(h.port());
  ASSERT_TRUE(fresh.send(request("GET", "/fresh")));
  ASSERT_TRUE(fresh.read_response());
  EXPECT_EQ(h.counters().responses_4xx.load(), 4u);
}

TEST(HttpServer, EveryResponseCarriesDateServerAndContentLength) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [](Request req, Responder respond) {
      if (req.target() == "/throw") throw std::runtime_error("boom");
      if (req.target() == "/empty") return respond(make_response(Status::ok));
      if (req.target() == "/nocontent") return respond(make_response(Status::no_content));
      respond(make_response(Status::not_found, "no such endpoint\n"));
    };
  });
  struct Case {
    std::string request;
    int status;
  };
  for (const auto& [req, status] :
       std::vector<Case>{{request("GET", "/empty"), 200},
                         {request("GET", "/nocontent"), 204},
                         {request("GET", "/missing"), 404},
                         {request("GET", "/throw"), 500},
                         {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400}}) {
    TestClient c(h.port());
    ASSERT_TRUE(c.send(req));
    auto r = c.read_response();  // fails without Content-Length (except 204)
    ASSERT_TRUE(r) << req;
    EXPECT_EQ(r->status, status) << req;
    expect_standard_headers(*r);
    if (status != 204) {
      EXPECT_EQ(r->header("Content-Length"), std::to_string(r->body.size()));
    } else {
      EXPECT_FALSE(r->header("Content-Length"));
    }
  }
  // Logged after the 500 may have gone out (the responder answers while the exception unwinds).
  EXPECT_TRUE(Harness::eventually([&] { return h.logs.contains("handler threw: boom"); }))
      << h.logs.all();
  EXPECT_EQ(h.counters().responses_5xx.load(), 1u);
}

TEST(HttpServer, FormatsDatesAsImfFixdate) {
  EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 7231 example
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  std::string now(http_date_now());
  EXPECT_LE(std::abs(std::difftime(parse_http_date(now), std::time(nullptr))), 2.0) << now;
}

TEST(HttpServer, HeadGetsTheLengthOfTheBodyButNotTheBody) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [](Request, Responder respond) {
      respond(make_response(Status::ok, std::string(1000, 'g')));
    };
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("HEAD", "/x")));
  auto r = c.read_response(5s, /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), "1000");
  // Had a body been sent, it would now be read as the next response's status line.
  ASSERT_TRUE(c.send(request("GET", "/x")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 1000u);
  EXPECT_TRUE(c.pending().empty());
}

TEST(HttpServer, HandlerHeadersAreKeptAndTransportHeadersWin) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [](Request, Responder respond) {
      Response res = make_response(Status::ok, "OK", "text/plain; charset=utf-8");
      res.set("X-Custom", "1");
      res.set(boost::beast::http::field::server, "other");
      res.set(boost::beast::http::field::content_length, "999");
      res.set(boost::beast::http::field::transfer_encoding, "chunked");
      respond(std::move(res));
    };
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/x")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("X-Custom"), "1");
  EXPECT_EQ(r->header("Server"), "other");
  EXPECT_EQ(r->header("Content-Length"), "2");
  EXPECT_FALSE(r->header("Transfer-Encoding"));
}

TEST(HttpServer, ADroppedResponderAnswers500AndTheConnectionGoesOn) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [](Request req, Responder respond) {
      if (req.target() == "/drop") return;  // forgets to answer
      respond(make_response(Status::ok, "fine"));
    };
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/drop")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(c.send(request("GET", "/ok")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "fine");
}

TEST(HttpServer, CountsRequestsResponsesAndBytes) {
  Harness h;
  TestClient c(h.port());
  std::string req = request("POST", "/x", "12345");
  ASSERT_TRUE(c.send(req));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_TRUE(c.send("garbage\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.peer_closed(3s));
  c.close();
  const auto& n = h.counters();
  EXPECT_TRUE(Harness::eventually([&] { return n.connections_open.load() == 0; }, 1s));
  EXPECT_EQ(n.requests.load(), 1u);
  EXPECT_EQ(n.responses.load(), 2u);
  EXPECT_EQ(n.responses_4xx.load(), 1u);
  EXPECT_EQ(n.responses_5xx.load(), 0u);
  EXPECT_GE(n.bytes_received.load(), req.size());
  EXPECT_GT(n.bytes_sent.load(), r->body.size());
}

TEST(HttpServer, StartFailsCleanlyOnABadAddress) {
  TestHandler handler;
  ServerConfig config = test_config();
  config.address = "not-an-address";
  HttpServer server(config, handler);
  EXPECT_THROW(server.start(), boost::system::system_error);

  Harness h;
  ServerConfig taken = test_config();
  taken.port = h.port();
  HttpServer second(taken, handler);
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_THROW(second.start(), boost::system::system_error);
}

}  // namespace
}  // namespace zkpush::server::http::test
