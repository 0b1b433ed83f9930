// Asynchronous responders, pipelining order and back-pressure, and stopping the server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::server::http::test {
namespace {

using Clock = std::chrono::steady_clock;

// /slow/<n> answers "<n>" after 200 ms from the delayer's thread; anything else at once.
void slow_and_fast(Harness& h) {
  h.handler.on_handle = [&h](Request req, Responder respond) {
    std::string target(req.target());
    std::string id = target.substr(target.rfind('/') + 1);
    if (target.rfind("/slow/", 0) == 0) {
      h.delayer.after(200ms, std::move(respond), make_response(Status::ok, id));
    } else {
      respond(make_response(Status::ok, id));
    }
  };
}

TEST(HttpPipeline, ResponderCalledLaterFromAnotherThread) {
  Harness h({}, slow_and_fast);
  TestClient c(h.port());
  const auto start = Clock::now();
  ASSERT_TRUE(c.send(request("POST", "/slow/1", "data")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "1");
  EXPECT_GE(Clock::now() - start, 190ms);
  // The connection is still usable afterwards.
  ASSERT_TRUE(c.send(request("GET", "/fast/2")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "2");
}

TEST(HttpPipeline, PipelinedRequestsAreAnsweredInRequestOrder) {
  Harness h({}, slow_and_fast);
  TestClient c(h.port());
  // One write: the server sees all four at once; 1 and 4 are answered last by the handler.
  ASSERT_TRUE(c.send(request("GET", "/slow/1") + request("POST", "/fast/2", "x") +
                     request("GET", "/fast/3") + request("GET", "/slow/4")));
  for (const char* expected : {"1", "2", "3", "4"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << expected;
    EXPECT_EQ(r->body, expected);
  }
  EXPECT_EQ(h.handler.calls.load(), 4);
}

TEST(HttpPipeline, ReadingPausesWhileThePipelineIsFull) {
  std::mutex mutex;
  std::vector<Responder> held;
  Harness h([](ServerConfig& c) { c.limits.pipeline_limit = 2; },
            [&](Harness& t) {
              t.handler.on_handle = [&](Request, Responder respond) {
                std::lock_guard lock(mutex);
                held.push_back(std::move(respond));
              };
            });
  TestClient c(h.port());
  std::string five;
  for (int i = 0; i < 5; ++i) five += request("GET", "/p/" + std::to_string(i));
  ASSERT_TRUE(c.send(five));
  ASSERT_TRUE(Harness::eventually([&] { return h.handler.calls.load() == 2; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(h.handler.calls.load(), 2) << "read past the pipeline limit";

  // Answer in reverse order as they come; the client must still see 0..4.
  int answered = 0;
  while (answered < 5) {
    std::vector<Responder> batch;
    ASSERT_TRUE(Harness::eventually([&] {
      std::lock_guard lock(mutex);
      return !held.empty();
    })) << "after "
        << answered;
    {
      std::lock_guard lock(mutex);
      batch.swap(held);
    }
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      int n = answered + static_cast<int>(batch.rend() - it) - 1;
      (*it)(make_response(Status::ok, std::to_string(n)));
    }
    answered += static_cast<int>(batch.size());
  }
  for (int i = 0; i < 5; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

TEST(HttpPipeline, ExpectContinueWaitsForEarlierResponses) {
  Harness h({}, slow_and_fast);
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/slow/1") +
                     "POST /fast/2 HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                     "Content-Length: 4\r\n\r\n"));
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);  // not the 100, which would be taken as the answer to /slow/1
  EXPECT_EQ(first->body, "1");
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("body"));
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "2");
}

TEST(HttpPipeline, StopLetsAnInFlightResponseFinishAndClosesIdleConnections) {
  Harness h({}, [](Harness& t) {
    t.handler.on_handle = [&t](Request, Responder respond) {
      t.delayer.after(400ms, std::move(respond), make_response(Status::ok, "late but complete"));
    };
  });
  TestClient idle(h.port());
  TestClient busy(h.port());
  ASSERT_TRUE(busy.send(request("POST", "/iclock/cdata", "rows")));
  ASSERT_TRUE(Harness::eventually([&] { return h.handler.calls.load() == 1; }));

  const auto start = Clock::now();
  std::thread stopper([&] { h.server->stop(); });
  EXPECT_TRUE(idle.peer_closed(1s)) << "idle connection not closed at stop";
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "late but complete");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(busy.peer_closed(1s));
  busy.close();
  stopper.join();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(h.counters().connections_open.load(), 0u);
  EXPECT_THROW(TestClient{h.port()}, std::runtime_error) << "still accepting after stop";
}

TEST(HttpPipeline, StopCutsWhatIsStillBusyAtTheTimeout) {
  std::mutex mutex;
  std::vector<Responder> never;  // the application never answers
  Harness h([](ServerConfig& c) { c.stop_timeout = 300ms; },
            [&](Harness& t) {
              t.handler.on_handle = [&](Request, Responder respond) {
                std::lock_guard lock(mutex);
                never.push_back(std::move(respond));
              };
            });
  TestClient slow_upload(h.port());
  ASSERT_TRUE(slow_upload.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  TestClient waiting(h.port());
  ASSERT_TRUE(waiting.send(request("GET", "/never")));
  ASSERT_TRUE(Harness::eventually([&] { return h.handler.calls.load() == 1; }));

  const auto start = Clock::now();
  h.server->stop();
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(waiting.peer_closed(1s));
  EXPECT_TRUE(slow_upload.peer_closed(1s));
  EXPECT_EQ(h.counters().connections_open.load(), 0u);
  // Answering after stop() is harmless: the connection is gone.
  std::lock_guard lock(mutex);
  for (auto& respond : never) respond(make_response(Status::ok, "too late"));
}

TEST(HttpPipeline, StopIsCleanUnderLoad) {
  std::atomic<int> counter{0};
  Harness h(
      [](ServerConfig& c) {
        c.stop_timeout = 2s;
        c.log_level = LogLevel::warn;
      },
      [&](Harness& t) {
        t.handler.on_handle = [&](Request req, Responder respond) {
          int n = ++counter;
          std::string body = req.body();
          if (n % 3 == 0) {
            t.delayer.after(std::chrono::milliseconds(n % 40), std::move(respond),
                            make_response(Status::ok, std::move(body)));
          } else if (n % 7 == 0) {
            throw std::runtime_error("handler failure under load");
          } else {
            respond(make_response(Status::ok, std::move(body)));
          }
        };
      });

  std::atomic<bool> done{false};
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      while (!done) {
        try {
          TestClient c(h.port());
          for (int i = 0; i < 20 && !done; ++i) {
            std::string body = "client " + std::to_string(t) + " request " + std::to_string(i);
            // Mix of pipelined pairs, single requests and requests abandoned mid-body.
            if (i % 5 == 4) {
              c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\npartial");
              break;
            }
            if (!c.send(request("POST", "/x", body) + (i % 2 ? request("GET", "/y") : ""))) break;
            auto r = c.read_response(2s);
            if (!r) break;
            if (r->status == 200 && r->body == body) ++ok;
            if (i % 2 && !c.read_response(2s)) break;
          }
        } catch (const std::exception&) {
          std::this_thread::sleep_for(1ms);  // refused once the server stops
        }
      }
    });
  }
  ASSERT_TRUE(Harness::eventually([&] { return ok.load() > 200; }, 10s));
  const auto start = Clock::now();
  h.server->stop();
  EXPECT_LT(Clock::now() - start, 2s + 1500ms);
  done = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(h.counters().connections_open.load(), 0u);
  EXPECT_GT(h.counters().requests.load(), 200u);
}

TEST(HttpPipeline, ServerDestroyedWithoutStopIsClean) {
  auto h = std::make_unique<Harness>([](ServerConfig& c) { c.stop_timeout = 300ms; });
  TestClient a(h->port());
  TestClient b(h->port());
  ASSERT_TRUE(a.send(request("GET", "/x")));
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12"));
  h.reset();  // ~HttpServer stops
  EXPECT_TRUE(a.peer_closed(1s));
}

}  // namespace
}  // namespace zkpush::server::http::test
