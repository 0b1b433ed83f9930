// The wire trace alone (front/wire_trace.hpp): depth per device, repeats collapsed, the global budget
// evicting the oldest entries of all devices first, bodies cut, secrets recognised, clear, the after=
// cursor, and concurrent writers. No sockets, no clock: times are given.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "front/wire_trace.hpp"

namespace zkpush::front {
namespace {

TraceExchange trace_exchange(const WireTrace& trace, std::string target, std::string request_body = "",
                             std::string response_body = "OK", int status = 200, std::int64_t time_ms = 1000) {
  TraceExchange x;
  x.time_ms = time_ms;
  x.method = request_body.empty() ? "GET" : "POST";
  x.target = std::move(target);
  x.endpoint = "getrequest";
  x.headers = "User-Agent: iClock Proxy/1.09\n";
  x.request = trace.keep(request_body);
  x.status = status;
  x.response = trace.keep(response_body);
  x.duration_us = 250;
  return x;
}

TEST(WireTrace, KeepsTheLastDepthEntriesOfADeviceNewestFirst) {
  WireTrace trace({.memory_bytes = 1 << 20, .depth = 3, .max_body = 4096});
  for (int i = 0; i < 5; ++i) trace.record("A", trace_exchange(trace, "/iclock/cdata?SN=A&n=" + std::to_string(i)));
  auto entries = trace.newest("A", 100);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].target, "/iclock/cdata?SN=A&n=4");
  EXPECT_EQ(entries[2].target, "/iclock/cdata?SN=A&n=2");
  EXPECT_GT(entries[0].seq, entries[1].seq);
  EXPECT_EQ(trace.entries(), 3u);
  EXPECT_EQ(trace.newest("A", 2).size(), 2u);
  EXPECT_TRUE(trace.newest("B", 100).empty());
  EXPECT_FALSE(trace.holds("B"));
}

TEST(WireTrace, IdenticalExchangesInARowCollapseIntoOneEntryWithARepeatCount) {
  WireTrace trace;
  trace.record("A", trace_exchange(trace, "/iclock/cdata?SN=A&table=rtlog", "time=1", "OK", 200, 500));
  for (int i = 0; i < 10; ++i) trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A", "", "OK", 200, 1000 + i));
  auto entries = trace.newest("A", 100);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].repeat, 10u);
  EXPECT_EQ(entries[0].time_ms, 1000);
  EXPECT_EQ(entries[0].last_time_ms, 1009);
  EXPECT_EQ(entries[0].last_seq, entries[0].seq + 9);
  EXPECT_EQ(entries[1].repeat, 1u);
  EXPECT_EQ(entries[1].target, "/iclock/cdata?SN=A&table=rtlog");

  // Another answer (a command), then the idle poll again: three entries, the collapse is only of a run.
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A", "", "C:1:INFO", 200, 2000));
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A", "", "OK", 200, 3000));
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A", "", "OK", 401, 3001));  // another status
  entries = trace.newest("A", 100);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].status, 401);
  EXPECT_EQ(entries[1].repeat, 1u);
  EXPECT_EQ(entries[2].response.text, "C:1:INFO");
}

TEST(WireTrace, AfterGivesWhatIsNewOrRepeatedSinceALastSeq) {
  WireTrace trace;
  trace.record("A", trace_exchange(trace, "/iclock/cdata?SN=A&table=rtlog", "time=1"));
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A"));
  const auto seen = trace.newest("A", 100);
  ASSERT_EQ(seen.size(), 2u);
  const auto last = seen[0].last_seq;
  EXPECT_TRUE(trace.newest("A", 100, last).empty());
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A"));  // the poll again
  auto since = trace.newest("A", 100, last);
  ASSERT_EQ(since.size(), 1u);
  EXPECT_EQ(since[0].seq, seen[0].seq);  // the same entry, repeated
  EXPECT_EQ(since[0].repeat, 2u);
}

TEST(WireTrace, BodiesAreCutAtTheLimitWithTheirFullSize) {
  WireTrace trace;
  const auto cut = trace.keep(std::string(5000, 'x'));
  EXPECT_EQ(cut.text.size(), 4096u);
  EXPECT_EQ(cut.bytes, 5000u);
  EXPECT_TRUE(cut.truncated);
  const auto whole = trace.keep(std::string(4096, 'y'));
  EXPECT_EQ(whole.text.size(), 4096u);
  EXPECT_FALSE(whole.truncated);
  const auto empty = trace.keep("");
  EXPECT_EQ(empty.bytes, 0u);
  EXPECT_FALSE(empty.truncated);
  WireTrace small({.memory_bytes = 1 << 20, .depth = 10, .max_body = 16});
  EXPECT_EQ(small.keep("0123456789abcdefXYZ").text, "0123456789abcdef");
}

TEST(WireTrace, SecretValuesAreRedactedInBodiesAndTargets) {
  auto redacted = [](std::string text) {
    WireTrace::redact(text);
    return text;
  };
  EXPECT_EQ(redacted("RegistryCode=0123abcd\nServerVersion=3.0"), "RegistryCode=(not kept)\nServerVersion=3.0");
  EXPECT_EQ(redacted("ErrorDelay=60\r\nSessionID=ffee\r\n"), "ErrorDelay=60\r\nSessionID=(not kept)\r\n");
  EXPECT_EQ(redacted("C:5:DATA UPDATE user CardNo=1\tPin=7\tPassword=4321\tGroup=1"),
            "C:5:DATA UPDATE user CardNo=1\tPin=7\tPassword=(not kept)\tGroup=1");
  EXPECT_EQ(redacted("user uid=1\tpin=7\tpassword=99\tname=A"), "user uid=1\tpin=7\tpassword=(not kept)\tname=A");
  EXPECT_EQ(redacted("SET OPTIONS Door1ForcePassWord=123,Door1SupperPassWord=8888,Door1Drivertime=5"),
            "SET OPTIONS Door1ForcePassWord=(not kept),Door1SupperPassWord=(not kept),Door1Drivertime=5");
  EXPECT_EQ(redacted("/iclock/cdata?SN=X&token=abc&table=rtlog"), "/iclock/cdata?SN=X&token=(not kept)&table=rtlog");
  // Empty values, keys that only contain the words, and text without '=' stay as they are.
  EXPECT_EQ(redacted("Password=\tPasswordHint=x\tmypassword"), "Password=\tPasswordHint=x\tmypassword");
  EXPECT_EQ(redacted("registrycode="), "registrycode=");
  EXPECT_EQ(redacted(""), "");
  // keep() redacts what it keeps.
  WireTrace trace;
  EXPECT_EQ(trace.keep("Password=1").text, "Password=(not kept)");
}

TEST(WireTrace, HeadersCarryingSecretsAreRecognisedAnyCase) {
  EXPECT_TRUE(WireTrace::secret_header("Cookie"));
  EXPECT_TRUE(WireTrace::secret_header("cookie"));
  EXPECT_TRUE(WireTrace::secret_header("Authorization"));
  EXPECT_TRUE(WireTrace::secret_header("proxy-authorization"));
  EXPECT_FALSE(WireTrace::secret_header("User-Agent"));
  EXPECT_FALSE(WireTrace::secret_header("Content-Type"));
}

// 10,000 devices with three exchanges each of about 1 KiB: a 2 MiB budget holds the newest ones, never
// more, and the oldest devices are the ones forgotten.
TEST(WireTrace, TheGlobalBudgetEvictsTheOldestEntriesOfAllDevicesFirst) {
  constexpr std::size_t kBudget = std::size_t{2} << 20;
  WireTrace trace({.memory_bytes = kBudget, .depth = 100, .max_body = 4096});
  const std::string body(1000, 'r');
  std::size_t most = 0;
  for (int round = 0; round < 3; ++round) {
    for (int d = 0; d < 10000; ++d) {
      const std::string sn = "DEVICE" + std::to_string(d);
      trace.record(sn, trace_exchange(trace, "/iclock/cdata?SN=" + sn + "&round=" + std::to_string(round), body));
      most = std::max(most, trace.bytes());
    }
  }
  EXPECT_LE(most, kBudget);
  EXPECT_GT(trace.bytes(), kBudget / 2);  // and the budget is used, not wasted
  EXPECT_LT(trace.devices(), 10000u);
  EXPECT_GT(trace.devices(), 100u);
  // The last devices of the last round still have their last exchange; the first ones are gone.
  EXPECT_TRUE(trace.holds("DEVICE9999"));
  EXPECT_EQ(trace.newest("DEVICE9999", 100).front().target, "/iclock/cdata?SN=DEVICE9999&round=2");
  EXPECT_FALSE(trace.holds("DEVICE0"));
  // What is held adds up: entries of at least the body's size each.
  EXPECT_LE(trace.entries() * body.size(), kBudget);
}

// Entries pushed out by the depth leave their reference in the global FIFO; those are dropped too,
// so a device that never stops talking does not grow the trace.
TEST(WireTrace, OneBusyDeviceStaysWithinItsDepthAndTheBudgetForever) {
  WireTrace trace({.memory_bytes = std::size_t{1} << 20, .depth = 5, .max_body = 4096});
  std::size_t most = 0;
  for (int i = 0; i < 100000; ++i) {
    trace.record("BUSY", trace_exchange(trace, "/iclock/cdata?SN=BUSY&table=rtlog", "index=" + std::to_string(i)));
    most = std::max(most, trace.bytes());
  }
  EXPECT_EQ(trace.entries(), 5u);
  EXPECT_LT(most, std::size_t{200} << 10);  // five entries and at most a few thousand stale references
  EXPECT_EQ(trace.newest("BUSY", 1).front().request.text, "index=99999");
}

TEST(WireTrace, ClearForgetsOneDevice) {
  WireTrace trace;
  for (int i = 0; i < 4; ++i) trace.record("A", trace_exchange(trace, "/iclock/x?SN=A&n=" + std::to_string(i)));
  trace.record("B", trace_exchange(trace, "/iclock/getrequest?SN=B"));
  const auto before = trace.bytes();
  EXPECT_EQ(trace.clear("A"), 4u);
  EXPECT_FALSE(trace.holds("A"));
  EXPECT_TRUE(trace.holds("B"));
  EXPECT_LT(trace.bytes(), before);
  EXPECT_EQ(trace.clear("A"), 0u);
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A"));  // starts afresh
  EXPECT_EQ(trace.newest("A", 100).size(), 1u);
}

TEST(WireTrace, ZeroMemoryIsOff) {
  WireTrace trace({.memory_bytes = 0, .depth = 100, .max_body = 4096});
  EXPECT_FALSE(trace.enabled());
  trace.record("A", trace_exchange(trace, "/iclock/getrequest?SN=A"));
  EXPECT_FALSE(trace.holds("A"));
  EXPECT_EQ(trace.bytes(), 0u);
}

// Writers on several threads (the I/O threads and the store's callbacks) and a reader: every entry
// lands once, the depth holds, and nothing is torn (run under TSan by the concurrency suite).
TEST(WireTrace, ConcurrentWritersAndReadersKeepItConsistent) {
  WireTrace trace({.memory_bytes = std::size_t{4} << 20, .depth = 50, .max_body = 4096});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&trace, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string sn = "T" + std::to_string(t) + "-" + std::to_string(i % 20);
        trace.record(sn, trace_exchange(trace, "/iclock/cdata?SN=" + sn + "&i=" + std::to_string(i), "x=1"));
        trace.record("SHARED", trace_exchange(trace, "/iclock/getrequest?SN=SHARED"));
      }
    });
  }
  threads.emplace_back([&trace] {
    for (int i = 0; i < 500; ++i) {
      for (const auto& x : trace.newest("SHARED", 100)) EXPECT_EQ(x.target, "/iclock/getrequest?SN=SHARED");
    }
  });
  for (auto& t : threads) t.join();
  const auto shared = trace.newest("SHARED", 100);
  ASSERT_EQ(shared.size(), 1u);  // 8,000 identical polls, one entry
  EXPECT_EQ(shared[0].repeat, 8000u);
  EXPECT_EQ(trace.devices(), 81u);
  EXPECT_EQ(trace.entries(), 80u * 50u + 1u);
  EXPECT_LE(trace.bytes(), std::size_t{4} << 20);
}

}  // namespace
}  // namespace zkpush::front
