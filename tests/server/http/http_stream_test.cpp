// Streamed responses (Responder::stream): chunked and close-delimited framing, their place in the
// pipeline, back-pressure and timeouts, clients leaving, server stop, and concurrent writers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::server::http::test {
namespace {

using Clock = std::chrono::steady_clock;

// The streams the handler opened on /events..., for the test thread to drive; anything else is
// answered at once with "<METHOD> <target>".
struct StreamRoute {
  std::mutex mutex;
  std::vector<std::shared_ptr<Stream>> streams;
  std::atomic<int> closes{0};  // on_close calls, all streams together

  std::shared_ptr<Stream> at(std::size_t i) {
    std::shared_ptr<Stream> out;
    Harness::eventually([&] {
      std::lock_guard lock(mutex);
      if (streams.size() <= i) return false;
      out = streams[i];
      return true;
    });
    return out;
  }

  void install(Harness& h) {
    h.handler.on_handle = [this](Request req, Responder respond) {
      if (req.target().rfind("/events", 0) == 0) {
        auto stream = respond.stream(make_stream_head(Status::ok, "text/event-stream"));
        stream->on_close([this] { ++closes; });
        std::lock_guard lock(mutex);
        streams.push_back(std::move(stream));
        return;
      }
      respond(make_response(Status::ok, std::string(req.method_string()) + " " +
                                            std::string(req.target())));
    };
  }
};

// Writes an event, asserting that the stream took it.
void send_event(Stream& stream, const std::string& data, std::atomic<int>* written = nullptr) {
  auto result = stream.write(data, [written](bool ok) {
    if (ok && written) ++*written;
  });
  ASSERT_EQ(result, StreamWrite::queued) << data;
}

TEST(HttpStream, ChunkedEventsArriveInOrderAndTheConnectionGoesOn) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/events")));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->version, "HTTP/1.1");
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_FALSE(head->header("Content-Length"));
  EXPECT_FALSE(head->header("Connection"));
  EXPECT_TRUE(head->header("Date"));
  EXPECT_EQ(head->header("Server"), "zkpush");

  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  EXPECT_EQ(h.counters().streams_open.load(), 1u);
  std::atomic<int> written{0};
  send_event(*stream, "data: one\n\n", &written);
  send_event(*stream, "", &written);  // sends nothing; must not end the body
  send_event(*stream, "data: two\n\n", &written);
  for (const char* expected : {"data: one\n\n", "data: two\n\n"}) {
    auto chunk = c.read_chunk();
    ASSERT_TRUE(chunk) << expected;
    EXPECT_EQ(*chunk, expected);
  }
  // Later, from this thread again: the stream went idle in between and is woken up.
  std::this_thread::sleep_for(50ms);
  send_event(*stream, std::string(100'000, 'x'), &written);
  auto big = c.read_chunk();
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size(), 100'000u);
  EXPECT_TRUE(Harness::eventually([&] { return written.load() == 4; }));
  EXPECT_EQ(stream->buffered(), 0u);

  stream->close();
  EXPECT_TRUE(stream->closed());
  EXPECT_EQ(stream->write("too late"), StreamWrite::closed);
  auto last = c.read_chunk();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "");
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
  EXPECT_EQ(h.counters().streams_open.load(), 0u);

  // Keep-alive: the same connection serves the next request.
  ASSERT_TRUE(c.send(request("GET", "/next")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /next");
  EXPECT_EQ(h.counters().connections_accepted.load(), 1u);
  EXPECT_EQ(h.counters().responses.load(), 2u);
  EXPECT_GT(h.counters().bytes_sent.load(), 100'000u);
  EXPECT_EQ(route.closes.load(), 1);
}

TEST(HttpStream, APipelinedRequestIsAnsweredOnlyAfterTheStreamCloses) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/events") + request("GET", "/after")));
  ASSERT_TRUE(c.read_head());
  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  ASSERT_TRUE(Harness::eventually([&] { return h.handler.calls.load() == 2; }));
  send_event(*stream, "data: 1\n\n");
  auto chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "data: 1\n\n");
  // /after was answered by the handler at once, but its response waits behind the stream.
  EXPECT_FALSE(c.peer_closed(300ms));
  EXPECT_EQ(c.pending(), "");

  send_event(*stream, "data: 2\n\n");
  stream->close();
  chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "data: 2\n\n");
  chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /after");
}

TEST(HttpStream, AStreamBehindASlowResponseKeepsWhatItWasGivenMeanwhile) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) {
    route.install(t);
    auto events = std::move(t.handler.on_handle);
    t.handler.on_handle = [&t, events](Request req, Responder respond) {
      if (req.target() == "/slow") {
        t.delayer.after(300ms, std::move(respond), make_response(Status::ok, "slow"));
        return;
      }
      events(std::move(req), std::move(respond));
    };
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/slow") + request("GET", "/events")));
  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  // Written, and even closed, before the stream's turn comes.
  std::atomic<int> written{0};
  send_event(*stream, "data: early\n\n", &written);
  send_event(*stream, "", &written);
  EXPECT_EQ(stream->buffered(), 13u);
  stream->close();
  EXPECT_TRUE(stream->closed());
  EXPECT_EQ(h.counters().streams_open.load(), 0u);

  auto slow = c.read_response();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->body, "slow");
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  auto chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "data: early\n\n");
  chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "");
  EXPECT_TRUE(Harness::eventually([&] { return written.load() == 2 && route.closes.load() == 1; }));
}

TEST(HttpStream, Http10GetsACloseDelimitedBody) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send("GET /events HTTP/1.0\r\n\r\n"));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->version, "HTTP/1.0");
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->header("Transfer-Encoding"));
  EXPECT_FALSE(head->header("Content-Length"));
  EXPECT_EQ(head->header("Connection"), "close");
  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  send_event(*stream, "data: a\n\n");
  send_event(*stream, "data: b\n\n");
  stream->close();
  auto body = c.read_to_eof();
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "data: a\n\ndata: b\n\n");
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
  c.close();
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
}

TEST(HttpStream, AQuietStreamOutlivesTheIdleAndWriteTimeouts) {
  StreamRoute route;
  Harness h(
      [](ServerConfig& c) {
        c.limits.idle_timeout = 200ms;
        c.limits.request_timeout = 200ms;
        c.limits.write_timeout = 200ms;
      },
      [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/events")));
  ASSERT_TRUE(c.read_head());
  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  for (int i = 0; i < 3; ++i) {  // 3 x 300 ms of silence: beyond every timeout
    std::this_thread::sleep_for(300ms);
    send_event(*stream, "data: " + std::to_string(i) + "\n\n");
    auto chunk = c.read_chunk();
    ASSERT_TRUE(chunk) << i;
    EXPECT_EQ(*chunk, "data: " + std::to_string(i) + "\n\n");
  }
  EXPECT_EQ(h.counters().timeouts.load(), 0u);
  EXPECT_FALSE(stream->closed());
  EXPECT_EQ(route.closes.load(), 0);
}

TEST(HttpStream, AClientThatStopsReadingHitsTheBufferLimitAndIsDroppedAfterTheWriteTimeout) {
  constexpr std::size_t kLimit = 256 * 1024;
  constexpr std::size_t kChunk = 64 * 1024;
  StreamRoute route;
  Harness h(
      [](ServerConfig& c) {
        c.limits.write_timeout = 500ms;
        c.limits.idle_timeout = 30s;
        c.limits.stream_buffer_limit = kLimit;
      },
      [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/events")));
  ASSERT_TRUE(c.read_head());
  auto stream = route.at(0);
  ASSERT_TRUE(stream);

  // The client reads nothing more. The handler writes as fast as the stream takes it, and backs
  // off when it is full, as a handler waiting for on_written would.
  std::atomic<int> failed{0};
  int full = 0;
  std::size_t max_buffered = 0;
  Clock::time_point first_full{};
  const auto start = Clock::now();
  for (;;) {
    auto result = stream->write(std::string(kChunk, 'e'), [&failed](bool ok) {
      if (!ok) ++failed;
    });
    max_buffered = std::max(max_buffered, stream->buffered());
    if (result == StreamWrite::closed) break;
    if (result == StreamWrite::full) {
      if (full++ == 0) first_full = Clock::now();
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_LT(Clock::now() - start, 20s) << "never dropped";
  }
  const auto dropped = Clock::now();
  EXPECT_GT(full, 0) << "the buffer limit was never reached";
  EXPECT_LE(max_buffered, kLimit);
  EXPECT_GE(dropped - first_full, 300ms) << "dropped before the write timeout";
  EXPECT_LT(dropped - first_full, 3s);
  EXPECT_TRUE(stream->closed());
  EXPECT_EQ(stream->buffered(), 0u);
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
  EXPECT_GT(failed.load(), 0) << "the chunks left unwritten were not reported";
  EXPECT_EQ(h.counters().timeouts.load(), 1u);
  EXPECT_TRUE(h.logs.contains("timeout writing response")) << h.logs.all();
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  EXPECT_EQ(h.counters().streams_open.load(), 0u);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(route.closes.load(), 1);
}

TEST(HttpStream, AClientThatDisconnectsClosesTheStreamOnce) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) { route.install(t); });
  {
    TestClient c(h.port());
    ASSERT_TRUE(c.send(request("GET", "/events")));
    ASSERT_TRUE(c.read_head());
    ASSERT_TRUE(route.at(0));
    send_event(*route.at(0), "data: hello\n\n");
    ASSERT_TRUE(c.read_chunk());
  }  // closes
  auto stream = route.at(0);
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
  EXPECT_TRUE(stream->closed());
  std::atomic<int> reported{0};
  EXPECT_EQ(stream->write("data: nobody\n\n", [&](bool) { ++reported; }), StreamWrite::closed);
  stream->close();  // harmless
  EXPECT_EQ(reported.load(), 0) << "a refused chunk has no on_written";
  // A callback registered after the end runs at once.
  int late = 0;
  stream->on_close([&late] { ++late; });
  EXPECT_EQ(late, 1);
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  EXPECT_EQ(h.counters().streams_open.load(), 0u);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(route.closes.load(), 1);
}

TEST(HttpStream, StreamingAfterTheClientLeftIsRefusedCleanly) {
  std::mutex mutex;
  std::vector<Responder> held;
  Harness h({}, [&](Harness& t) {
    t.handler.on_handle = [&](Request, Responder respond) {
      std::lock_guard lock(mutex);
      held.push_back(std::move(respond));
    };
  });
  {
    TestClient c(h.port());
    ASSERT_TRUE(c.send(request("GET", "/events")));
    ASSERT_TRUE(Harness::eventually([&] { return h.handler.calls.load() == 1; }));
    // A reset, not a FIN: after a half-close the server would still owe the response.
    c.reset();
  }
  ASSERT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  std::lock_guard lock(mutex);
  auto stream = held.at(0).stream(make_stream_head(Status::ok, "text/event-stream"));
  ASSERT_TRUE(stream);
  EXPECT_TRUE(Harness::eventually([&] { return stream->closed(); }));
  EXPECT_EQ(stream->write("data: x\n\n"), StreamWrite::closed);
  int closes = 0;
  stream->on_close([&closes] { ++closes; });
  EXPECT_EQ(closes, 1);
  // The responder is spent: a second stream is closed from the start.
  auto again = held.at(0).stream(make_stream_head(Status::ok, "text/plain"));
  EXPECT_TRUE(again->closed());
}

TEST(HttpStream, DroppingTheLastReferenceEndsTheBody) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [](Request, Responder respond) {
      auto stream = respond.stream(make_stream_head(Status::ok, "application/octet-stream"));
      static_cast<void>(stream->write("only chunk"));
    };  // the stream goes out of scope without close()
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/download")));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Content-Type"), "application/octet-stream");
  auto chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "only chunk");
  chunk = c.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "");
}

TEST(HttpStream, HeadOnAStreamingRouteSendsTheHeadOnly) {
  StreamRoute route;
  Harness h({}, [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("HEAD", "/events")));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");  // what GET would send
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  auto stream = route.at(0);
  ASSERT_TRUE(stream);
  // The response is complete with its head: the stream is over, writes are refused.
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
  EXPECT_TRUE(stream->closed());
  EXPECT_EQ(stream->write("data: x\n\n"), StreamWrite::closed);
  EXPECT_EQ(h.counters().streams_open.load(), 0u);
  // No body bytes precede the next response on the connection.
  ASSERT_TRUE(c.send(request("GET", "/plain")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /plain");
}

TEST(HttpStream, StopEndsOpenStreamsPromptly) {
  constexpr int kStreams = 50;
  StreamRoute route;
  Harness h([](ServerConfig& c) { c.stop_timeout = 5s; }, [&](Harness& t) { route.install(t); });
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<TestClient>(h.port()));
    ASSERT_TRUE(clients.back()->send(request("GET", "/events/" + std::to_string(i))));
  }
  for (auto& c : clients) ASSERT_TRUE(c->read_head());
  ASSERT_TRUE(route.at(kStreams - 1));
  EXPECT_EQ(h.counters().streams_open.load(), static_cast<std::uint64_t>(kStreams));
  {
    std::lock_guard lock(route.mutex);
    for (auto& s : route.streams) send_event(*s, "data: before stop\n\n");
  }
  for (auto& c : clients) {
    auto chunk = c->read_chunk();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, "data: before stop\n\n");
  }

  const auto start = Clock::now();
  h.server->stop();
  EXPECT_LT(Clock::now() - start, 1s) << "stop waited on open streams";
  EXPECT_EQ(route.closes.load(), kStreams);
  EXPECT_EQ(h.counters().streams_open.load(), 0u);
  EXPECT_EQ(h.counters().connections_open.load(), 0u);
  for (auto& c : clients) {
    auto last = c->read_chunk(1s);
    ASSERT_TRUE(last) << "no final chunk";
    EXPECT_EQ(*last, "");
    EXPECT_TRUE(c->peer_closed(1s));
  }
  std::lock_guard lock(route.mutex);
  for (auto& s : route.streams) {
    EXPECT_TRUE(s->closed());
    EXPECT_EQ(s->write("after stop"), StreamWrite::closed);
  }
}

TEST(HttpStream, ManyThreadsWriteToOneStream) {
  constexpr int kThreads = 8;
  constexpr int kEvents = 300;
  StreamRoute route;
  Harness h([](ServerConfig& c) { c.limits.stream_buffer_limit = 4096; },  // back-pressure often
            [&](Harness& t) { route.install(t); });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/events")));
  ASSERT_TRUE(c.read_head());
  auto stream = route.at(0);
  ASSERT_TRUE(stream);

  std::atomic<int> written{0};
  std::atomic<int> refused_full{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int n = 0; n < kEvents; ++n) {
        const std::string line = std::to_string(t) + " " + std::to_string(n) + "\n";
        for (;;) {
          auto result = stream->write(line, [&written](bool ok) {
            if (ok) ++written;
          });
          if (result == StreamWrite::queued) break;
          ASSERT_EQ(result, StreamWrite::full);
          ++refused_full;
          std::this_thread::yield();
        }
        static_cast<void>(stream->buffered());
        static_cast<void>(stream->closed());
      }
    });
  }
  std::string body;
  std::thread closer([&] {
    for (auto& w : writers) w.join();
    stream->close();
  });
  for (;;) {
    auto chunk = c.read_chunk(10s);
    ASSERT_TRUE(chunk);
    if (chunk->empty()) break;
    body += *chunk;
  }
  closer.join();

  std::map<int, int> next;  // per writer, the next event expected
  std::istringstream lines(body);
  int t = 0;
  int n = 0;
  int total = 0;
  while (lines >> t >> n) {
    EXPECT_EQ(n, next[t]) << "writer " << t << " out of order";
    next[t] = n + 1;
    ++total;
  }
  EXPECT_EQ(total, kThreads * kEvents);
  for (int w = 0; w < kThreads; ++w) EXPECT_EQ(next[w], kEvents) << w;
  EXPECT_TRUE(Harness::eventually([&] { return written.load() == kThreads * kEvents; }));
  EXPECT_TRUE(Harness::eventually([&] { return route.closes.load() == 1; }));
}

}  // namespace
}  // namespace zkpush::server::http::test
