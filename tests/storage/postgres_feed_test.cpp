// Two stores on one PostgreSQL database, as two zkpush nodes have them (storage/store.hpp "several
// nodes"): what one commits reaches the other's change feed (watch), once per transaction and kind and
// device, after the commit, and never its own (a device removed with open commands: both); a change
// heard before anyone listens comes as a resync; one of them leads, and the other takes over when the
// leader goes or loses its feed's session; message ids become visible in order whichever node wrote
// them (the event stream resumes after an id and must skip nothing); delivery takes each command once
// however many nodes deliver; and a writer or reader session lost, idle or in the middle of a group,
// costs no more than the units that were running on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <iterator>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "storage/postgres/database.hpp"
#include "storage/store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using Kind = Store::Change::Kind;
using FeedClock = std::chrono::steady_clock;
constexpr std::int64_t kFeedT0 = 1700000000;
constexpr auto kFeedDeadline = std::chrono::seconds(30);

const char* feed_kind_name(Kind k) {
  switch (k) {
    case Kind::device: return "device";
    case Kind::commands: return "commands";
    case Kind::messages: return "messages";
    case Kind::sync: return "sync";
    case Kind::settings: return "settings";
    case Kind::resync: return "resync";
  }
  return "?";
}

// What a store's listener heard, in order, as "kind:sn".
class FeedRecorder {
 public:
  // An extra check run on the feed's thread for each change (before it is recorded).
  std::function<void(const Store::Change&)> on_change;

  void operator()(const Store::Change& change) {
    if (on_change) on_change(change);
    std::lock_guard lock(mu_);
    seen_.push_back(std::string(feed_kind_name(change.kind)) + ":" + change.sn);
    cv_.notify_all();
  }
  // Waits (at most kFeedDeadline) until `entry` was heard; false if it never was.
  bool wait_for(const std::string& entry) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kFeedDeadline,
                        [&] { return std::find(seen_.begin(), seen_.end(), entry) != seen_.end(); });
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::size_t count(const std::string& entry) {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(std::count(seen_.begin(), seen_.end(), entry));
  }
  void clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
};

std::string feed_joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// Waits until `done()` holds, at most `limit`.
bool feed_eventually(const std::function<bool()>& done, std::chrono::seconds limit = kFeedDeadline) {
  const auto give_up = FeedClock::now() + limit;
  while (!done()) {
    if (FeedClock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

NewEvent feed_event(const std::string& sn, std::int64_t index) {
  NewEvent e;
  e.sn = sn;
  e.index = index;
  e.time_local = "2026-12-06 10:00:00";
  e.pin = "7";
  e.raw = "pin=7 index=" + std::to_string(index);
  e.received_at = kFeedT0;
  return e;
}

NewCommand feed_command(const std::string& sn, const std::string& line) {
  NewCommand c;
  c.sn = sn;
  c.line = line;
  c.verb = line.substr(0, line.find(' '));
  c.created_at = kFeedT0;
  return c;
}

Device feed_device(const std::string& sn, const std::string& session = "s0") {
  Device d;
  d.sn = sn;
  d.approved = true;
  d.registry_code = "rc";
  d.session_id = session;
  d.first_seen = d.last_seen = kFeedT0;
  return d;
}

class PostgresFeed : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::postgres_url(dir_.path());
    one_ = open_store(url_);
    two_ = open_store(url_);
    one_->watch([this](const Store::Change& c) { heard_one_(c); });
    two_->watch([this](const Store::Change& c) { heard_two_(c); });
  }
  void TearDown() override {
    if (one_) one_->watch(nullptr);
    if (two_) two_->watch(nullptr);
  }
  // A change written through `from` that the other store must hear: once the other heard it, every
  // notification committed before it has been delivered to that store's feed as well (PostgreSQL
  // delivers them in commit order).
  void marker(Store& from, FeedRecorder& other, const std::string& sn) {
    test::write(from, [sn](Transaction& tx) { tx.devices().save(feed_device(sn)); });
    ASSERT_TRUE(other.wait_for("device:" + sn)) << "never heard the marker " << sn << "; heard "
                                                << feed_joined(other.seen());
  }
  // The database's sessions of `role` ("feed", "writer", "reader").
  std::vector<int> sessions(postgres::Connection& admin, const std::string& role) {
    auto st = admin.prepare(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid");
    st.bind(1, "zkpush " + role);
    std::vector<int> out;
    while (st.step()) out.push_back(static_cast<int>(st.column_int(0)));
    return out;
  }
  // The session holding the lead's advisory lock in this database, 0 if none.
  int lead_session(postgres::Connection& admin) {
    auto st = admin.prepare(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = 2054276086"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
    return st.step() ? static_cast<int>(st.column_int(0)) : 0;
  }
  // Ends a session and waits until it is gone (pg_terminate_backend only signals it).
  void terminate(postgres::Connection& admin, int pid) {
    auto st = admin.prepare("SELECT pg_terminate_backend($1::int)");
    st.bind(1, pid);
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int(0), 1) << "session " << pid << " was not terminated";
    EXPECT_TRUE(feed_eventually([&] {
      auto alive = admin.prepare("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int");
      alive.bind(1, pid);
      alive.step();
      return alive.column_int(0) == 0;
    })) << "session " << pid << " never ended";
  }

  testing::TempDir dir_;
  std::string url_;
  FeedRecorder heard_one_, heard_two_;
  std::unique_ptr<Store> one_, two_;
};

// ---- what the feed reports -----------------------------------------------------------------------------

TEST_F(PostgresFeed, EachKindOfChangeReachesTheOtherStoreAndNotTheWriter) {
  // Every change is re-read on the other store as it arrives, as the services do: the feed must tell
  // only after the commit, when the change is visible.
  std::vector<std::string> visible_problems;
  std::atomic<bool> removing{false};
  heard_two_.on_change = [&](const Store::Change& c) {
    if (c.kind != Kind::device || c.sn != "D1" || removing) return;
    auto d = two_->read_now([](Reads& r) { return r.devices().get("D1"); });
    if (!d.ok() || !d.value()) visible_problems.push_back("D1 not visible when its change was told");
  };

  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1", "first")); });
  ASSERT_TRUE(heard_two_.wait_for("device:D1"));

  // The row's session, its options, a command queued, the command closed, events, sync state: one
  // unit each, each heard by store two under its kind and serial number.
  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1", "second")); });
  ASSERT_TRUE(heard_two_.wait_for("device:D1"));
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.devices().get("D1"); })->session_id, "second");

  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) {
    protocol::Record options;
    options.add("LockCount", "2");
    tx.devices().merge_options("D1", options, "options", kFeedT0);
  });
  ASSERT_TRUE(heard_two_.wait_for("device:D1"));

  heard_two_.clear();
  const auto queued = test::write(
      *one_, [](Transaction& tx) { return tx.commands().insert(feed_command("D1", "INFO"), kFeedT0); });
  ASSERT_TRUE(heard_two_.wait_for("commands:D1"));
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.commands().pending_count("D1"); }), 1);

  heard_two_.clear();
  test::write(*one_, [id = queued.id](Transaction& tx) {
    auto row = *tx.commands().get(id);
    row.status = CommandStatus::done;
    row.return_code = 0;
    row.done_at = kFeedT0 + 1;
    tx.commands().update(row);
  });
  ASSERT_TRUE(heard_two_.wait_for("commands:D1"));
  ASSERT_TRUE(heard_two_.wait_for("messages:")) << "the closed command enters the message log";
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.commands().pending_count("D1"); }), 0);

  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) { tx.events().insert({feed_event("D1", 1), feed_event("D1", 2)}); });
  ASSERT_TRUE(heard_two_.wait_for("messages:"));

  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) {
    tx.sync().put_desired(SyncKey{"D1", "person", "7"}, std::string("Pin=7"), kFeedT0);
  });
  ASSERT_TRUE(heard_two_.wait_for("sync:D1"));

  // The server's settings: an API token, a webhook subscription (told by the table's name; every node
  // reloads them).
  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) {
    ApiToken t;
    t.name = "feed";
    t.role = "viewer";
    t.hash = "feed-token-hash";
    t.created_at = kFeedT0;
    return tx.tokens().insert(t);
  });
  ASSERT_TRUE(heard_two_.wait_for("settings:api_tokens"));
  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) {
    Webhook w;
    w.url = "http://127.0.0.1:9/hook";
    w.secret = "s";
    w.kinds = "*";
    w.created_at = kFeedT0;
    return tx.webhooks().insert(w);
  });
  ASSERT_TRUE(heard_two_.wait_for("settings:webhooks"));

  // The device removed with a command still open: its row and its commands (the other store's
  // pending count of the device must drop to nothing).
  test::write(*one_, [](Transaction& tx) { tx.commands().insert(feed_command("D1", "INFO"), kFeedT0); });
  ASSERT_TRUE(heard_two_.wait_for("commands:D1"));
  heard_two_.clear();
  removing = true;
  test::write(*one_, [](Transaction& tx) { tx.devices().remove("D1"); });
  ASSERT_TRUE(heard_two_.wait_for("device:D1"));
  ASSERT_TRUE(heard_two_.wait_for("commands:D1")) << feed_joined(heard_two_.seen());

  // Store one heard none of its own writes: the marker from store two is the first thing it heard.
  marker(*two_, heard_one_, "M1");
  EXPECT_EQ(feed_joined(heard_one_.seen()), "device:M1");
  EXPECT_TRUE(visible_problems.empty()) << visible_problems.front();
}

TEST_F(PostgresFeed, OneTransactionIsToldOncePerKindAndDeviceAndARefusedOneNotAtAll) {
  test::write(*one_, [](Transaction& tx) {
    tx.devices().save(feed_device("D1"));
    tx.devices().save(feed_device("D2"));
  });
  marker(*one_, heard_two_, "M0");
  heard_two_.clear();

  // One unit: the row written three times and its options, three commands of D1, one of D2, events
  // in two statements.
  test::write(*one_, [](Transaction& tx) {
    for (const char* session : {"a", "b", "c"}) tx.devices().save(feed_device("D1", session));
    protocol::Record options;
    options.add("LockCount", "4");
    tx.devices().merge_options("D1", options, "options", kFeedT0);
    for (const char* line : {"INFO", "CHECK", "REBOOT"}) tx.commands().insert(feed_command("D1", line), kFeedT0);
    tx.commands().insert(feed_command("D2", "INFO"), kFeedT0);
    tx.events().insert({feed_event("D1", 1)});
    tx.events().insert({feed_event("D2", 1)});
  });
  // A unit refused after writing: undone, so nothing of it is told.
  auto refused = one_->write_now([](Transaction& tx) {
    tx.devices().save(feed_device("R1"));
    tx.commands().insert(feed_command("D2", "INFO"), kFeedT0);
    tx.events().insert({feed_event("D2", 2)});
    throw Refused(StoreError::Reason::conflict, "changed its mind");
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(refused.error().transient);
  marker(*one_, heard_two_, "M1");

  EXPECT_EQ(heard_two_.count("device:D1"), 1u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.count("commands:D1"), 1u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.count("commands:D2"), 1u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.count("messages:"), 1u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.count("device:R1"), 0u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.count("device:D2"), 0u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(heard_two_.seen().size(), 5u) << feed_joined(heard_two_.seen());
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.commands().pending_count("D2"); }), 1);
}

TEST_F(PostgresFeed, AListenerMayReplaceItselfFromItsOwnCallback) {
  // watch() inside a callback (a node reacting to what it heard) must neither wait for itself nor
  // destroy the function that is running; what follows goes to the new listener only.
  std::atomic<int> calls{0};
  const std::string captured(200, 'x');  // on the heap: used after watch() returned
  std::atomic<bool> intact{false};
  two_->watch([this, &calls, &intact, captured](const Store::Change&) {
    calls += 1;
    two_->watch([this](const Store::Change& c) { heard_two_(c); });
    intact = captured == std::string(200, 'x');
    calls += 10;
  });
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  ASSERT_TRUE(feed_eventually([&] { return calls.load() == 11; })) << "the callback never ended: " << calls.load();
  EXPECT_TRUE(intact.load());
  marker(*one_, heard_two_, "D2");
  EXPECT_EQ(calls.load(), 11);

  // And watch(nullptr) from a callback: it ends, and nothing is told after it.
  calls = 0;
  two_->watch([this, &calls](const Store::Change&) {
    calls += 1;
    two_->watch(nullptr);
  });
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D3")); });
  ASSERT_TRUE(feed_eventually([&] { return calls.load() == 1; }));
  two_->watch(nullptr);  // returns: no callback holds the feed
}

TEST_F(PostgresFeed, StoppingToWatchWaitsForTheCallbackInProgress) {
  std::promise<void> entered;
  std::atomic<bool> finished{false};
  std::atomic<bool> release{false};
  two_->watch([&](const Store::Change&) {
    static std::atomic<bool> first{true};
    if (!first.exchange(false)) return;
    entered.set_value();
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    finished = true;
  });
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  ASSERT_EQ(entered.get_future().wait_for(kFeedDeadline), std::future_status::ready);
  // The callback runs until released, from another thread, a while later: if watch(nullptr) did not
  // wait for it, it would return with the callback still blocked.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    release = true;
  });
  two_->watch(nullptr);
  EXPECT_TRUE(finished.load());
  releaser.join();
}

TEST_F(PostgresFeed, AChangeHeardBeforeAnyoneListensIsReportedAsAResync) {
  // The services load their memory between opening the store and watch(): what another node commits
  // meanwhile must not be lost. Nobody listens on store two while store one writes; a while later
  // (time for store two's feed to have heard it with nobody to tell) a listener is set.
  two_->watch(nullptr);
  heard_two_.clear();
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  two_->watch([this](const Store::Change& c) { heard_two_(c); });
  EXPECT_TRUE(feed_eventually([&] { return heard_two_.count("resync:") + heard_two_.count("device:D1") > 0; }))
      << "the change was lost: heard " << feed_joined(heard_two_.seen());
  // Messages alone need no resync: nothing of them is kept in memory.
  two_->watch(nullptr);
  test::write(*one_, [](Transaction& tx) { tx.events().insert({feed_event("D1", 1)}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  heard_two_.clear();
  two_->watch([this](const Store::Change& c) { heard_two_(c); });
  marker(*one_, heard_two_, "M1");
  EXPECT_EQ(heard_two_.count("resync:"), 0u) << feed_joined(heard_two_.seen());
}

// ---- the lead ------------------------------------------------------------------------------------------

class PostgresLead : public PostgresFeed {};

TEST_F(PostgresLead, OneStoreLeadsAndTheOtherTakesOverWhenItGoes) {
  ASSERT_TRUE(feed_eventually([&] { return one_->leads() || two_->leads(); }));
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(one_->leads() && two_->leads());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool one_led = one_->leads();
  auto& leader = one_led ? one_ : two_;
  auto& other = one_led ? two_ : one_;
  leader->watch(nullptr);
  leader.reset();
  EXPECT_TRUE(feed_eventually([&] { return other->leads(); }, std::chrono::seconds(15)))
      << "the remaining store never took the lead";
}

TEST_F(PostgresLead, ALostFeedSessionHandsTheLeadOverAndSaysResyncWhenBack) {
  postgres::Connection admin(url_);
  ASSERT_TRUE(feed_eventually([&] { return one_->leads() || two_->leads(); }));
  const bool one_led = one_->leads();
  Store& leader = one_led ? *one_ : *two_;
  Store& other = one_led ? *two_ : *one_;
  FeedRecorder& leader_heard = one_led ? heard_one_ : heard_two_;
  FeedRecorder& other_heard = one_led ? heard_two_ : heard_one_;
  // Which feed session is whose: the leader's holds the lock; the other one is the other store's.
  const int leader_feed = lead_session(admin);
  const auto feeds = sessions(admin, "feed");
  ASSERT_EQ(feeds.size(), 2u);
  ASSERT_NE(leader_feed, 0);
  ASSERT_TRUE(std::find(feeds.begin(), feeds.end(), leader_feed) != feeds.end());

  terminate(admin, leader_feed);
  EXPECT_TRUE(feed_eventually([&] { return other.leads() && !leader.leads(); }, std::chrono::seconds(15)))
      << "the lead did not move to the store whose feed lives";
  EXPECT_TRUE(leader_heard.wait_for("resync:")) << "the store whose feed was lost never said resync";
  EXPECT_EQ(other_heard.count("resync:"), 0u);

  // Back, it listens again: a change of the other store reaches it, and it does not lead.
  EXPECT_TRUE(feed_eventually([&] { return sessions(admin, "feed").size() == 2; }));
  marker(other, leader_heard, "back");
  EXPECT_FALSE(leader.leads());
  EXPECT_TRUE(other.leads());
}

// ---- message ids become visible in order ---------------------------------------------------------------

TEST_F(PostgresFeed, MessageIdsBecomeVisibleInOrderAcrossStores) {
  // Two stores write small units concurrently (events through the trigger, and messages added
  // directly), while a reader resumes as the event stream does: `after the last id seen`. Every
  // message that exists at the end must have been seen that way: one made visible below an id the
  // reader had already passed would be skipped for ever.
  test::write(*one_, [](Transaction& tx) {
    tx.devices().save(feed_device("A"));
    tx.devices().save(feed_device("B"));
  });
  constexpr int kUnits = 400;
  std::atomic<int> writers_left{4};
  std::atomic<int> failed{0};
  auto writer = [&](Store& store, std::string sn, std::int64_t first_index, bool direct) {
    for (int i = 0; i < kUnits; ++i) {
      const std::int64_t index = first_index + i;
      auto r = store.write_now([sn, index, direct](Transaction& tx) {
        if (direct) tx.messages().add("device", sn, R"({"i":)" + std::to_string(index) + "}", kFeedT0);
        else tx.events().insert({feed_event(sn, index), feed_event(sn, index + 1'000'000)});
      });
      if (!r.ok()) failed += 1;
    }
    writers_left -= 1;
  };
  std::set<std::int64_t> resumed;
  std::int64_t last = 0;
  std::thread reader([&] {
    for (;;) {
      const bool writing = writers_left.load() > 0;
      auto page = two_->read_now([last](Reads& r) { return r.messages().list(MessageFilter{last, 0, "", {}}); });
      if (page.ok()) {
        for (const auto& m : page.value()) {
          resumed.insert(m.id);
          last = std::max(last, m.id);
        }
      }
      if (!writing) break;  // one more page after the last write committed
    }
  });
  std::vector<std::thread> writers;
  writers.emplace_back(writer, std::ref(*one_), "A", 1, false);
  writers.emplace_back(writer, std::ref(*two_), "B", 1, false);
  writers.emplace_back(writer, std::ref(*one_), "A", 5'000'000, true);
  writers.emplace_back(writer, std::ref(*two_), "B", 5'000'000, true);
  for (auto& t : writers) t.join();
  reader.join();
  EXPECT_EQ(failed.load(), 0);

  auto all = test::read(*one_, [](Reads& r) { return r.messages().list(MessageFilter{0, 0, "", {}}); });
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kUnits) * 2 * 2 + kUnits * 2);
  std::vector<std::int64_t> missed;
  for (const auto& m : all)
    if (!resumed.count(m.id)) missed.push_back(m.id);
  EXPECT_TRUE(missed.empty()) << missed.size() << " message(s) became visible below an id the reader had passed,"
                              << " first " << (missed.empty() ? 0 : missed.front());
}

// ---- delivery across stores ----------------------------------------------------------------------------

TEST_F(PostgresFeed, TwoStoresDeliveringTakeEachCommandOnce) {
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  constexpr int kCommands = 300;
  std::set<std::int64_t> queued;
  test::write(*one_, [&queued](Transaction& tx) {
    for (int i = 0; i < kCommands; ++i) queued.insert(tx.commands().insert(feed_command("D1", "INFO"), kFeedT0).id);
  });
  ASSERT_EQ(queued.size(), static_cast<std::size_t>(kCommands));

  // As CommandQueue::deliver does through the areas: take the queued ones (a few at a time), mark
  // them sent. Two threads per store, so each store's writer also groups units.
  std::mutex taken_mu;
  std::vector<std::int64_t> taken;
  std::atomic<int> failed{0};
  auto deliverer = [&](Store& store) {
    for (;;) {
      auto r = store.write_now([](Transaction& tx) {
        std::vector<std::int64_t> ids;
        for (auto& row : tx.commands().queued("D1", 3)) {
          row.status = CommandStatus::sent;
          row.sent_at = kFeedT0 + 1;
          row.attempts += 1;
          tx.commands().update(row);
          ids.push_back(row.id);
        }
        return ids;
      });
      if (!r.ok()) {
        failed += 1;
        continue;
      }
      if (r.value().empty()) {
        // Nothing free now: done once nothing is queued at all (another store may hold some).
        auto left = store.read_now([](Reads& reads) { return reads.commands().queued("D1", 1).size(); });
        if (left.ok() && left.value() == 0) return;
        continue;
      }
      std::lock_guard lock(taken_mu);
      taken.insert(taken.end(), r.value().begin(), r.value().end());
    }
  };
  std::vector<std::thread> threads;
  for (Store* s : {one_.get(), two_.get(), one_.get(), two_.get()}) threads.emplace_back(deliverer, std::ref(*s));
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  std::map<std::int64_t, int> times;
  for (auto id : taken) times[id] += 1;
  std::vector<std::int64_t> twice;
  for (const auto& [id, n] : times)
    if (n > 1) twice.push_back(id);
  EXPECT_TRUE(twice.empty()) << twice.size() << " command(s) taken more than once, first " << twice.front();
  EXPECT_EQ(times.size(), queued.size());
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.commands().pending_count("D1"); }), kCommands);
  EXPECT_EQ(test::read(*two_, [](Reads& r) { return r.commands().queued("D1", 0).size(); }), 0u);
}

// ---- lost sessions -------------------------------------------------------------------------------------

std::string feed_message_of(const StoreResult<Unit>& r) { return r.ok() ? "ok" : r.error().message; }

TEST_F(PostgresFeed, AWriterLostInTheMiddleOfAGroupFailsThatGroupOnlyAndTheStoreGoesOn) {
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  postgres::Connection admin(url_);
  postgres::Connection holder(url_);
  // The message log's lock, held from outside: store one's writer waits for it inside its group.
  holder.exec("BEGIN; SELECT pg_advisory_xact_lock(2054276084)");

  using Outcome = std::future<StoreResult<Unit>>;
  auto submit = [&](std::int64_t index) {
    auto promise = std::make_shared<std::promise<StoreResult<Unit>>>();
    Outcome f = promise->get_future();
    one_->write([index](Transaction& tx) { tx.events().insert({feed_event("D1", index)}); },
                [promise](StoreResult<Unit> r) { promise->set_value(std::move(r)); });
    return f;
  };
  Outcome stuck = submit(1);
  ASSERT_TRUE(feed_eventually([&] {
    auto st = admin.prepare(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'zkpush writer' AND wait_event_type = 'Lock'");
    st.step();
    return st.column_int(0) > 0;
  })) << "the writer never waited for the lock";
  // Queued behind the stuck group.
  std::vector<Outcome> behind;
  for (std::int64_t i = 2; i <= 20; ++i) behind.push_back(submit(i));

  // Store one's writer session (store two has its own: the one waiting for the lock is store one's).
  int stuck_pid = 0;
  {
    auto st = admin.prepare(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'zkpush writer' AND wait_event_type = 'Lock'");
    ASSERT_TRUE(st.step());
    stuck_pid = static_cast<int>(st.column_int(0));
  }
  terminate(admin, stuck_pid);
  ASSERT_EQ(stuck.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "the stuck unit never ended";
  auto stuck_result = stuck.get();
  ASSERT_FALSE(stuck_result.ok());
  EXPECT_TRUE(stuck_result.error().transient) << stuck_result.error().message;
  holder.exec("COMMIT");

  // Every unit behind it ends; none is lost for the session that went: they ran on a new one.
  for (std::size_t i = 0; i < behind.size(); ++i) {
    ASSERT_EQ(behind[i].wait_for(std::chrono::seconds(60)), std::future_status::ready) << "unit " << i + 2 << " hangs";
    auto r = behind[i].get();
    EXPECT_TRUE(r.ok() || r.error().transient) << feed_message_of(r);
    EXPECT_TRUE(r.ok()) << "unit " << i + 2 << ": " << feed_message_of(r);
  }
  EXPECT_EQ(test::read(*one_, [](Reads& r) { return r.events().count("D1"); }), 19);
  // And the store goes on: another write, heard by store two.
  heard_two_.clear();
  marker(*one_, heard_two_, "after");
}

TEST_F(PostgresFeed, AWriterEndedAgainAndAgainUnderLoadHangsNoUnitAndLosesNoneItConfirmed) {
  // Units stream into store one while its writer session is ended five times: each unit ends, with
  // success or a transient error (a device sends it again), and every success is stored.
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  constexpr int kStormUnits = 600;
  std::vector<std::future<StoreResult<Unit>>> outcomes(kStormUnits);
  std::thread submitter([&] {
    for (int i = 0; i < kStormUnits; ++i) {
      auto promise = std::make_shared<std::promise<StoreResult<Unit>>>();
      outcomes[static_cast<std::size_t>(i)] = promise->get_future();
      one_->write([i](Transaction& tx) { tx.events().insert({feed_event("D1", i)}); },
                  [promise](StoreResult<Unit> r) { promise->set_value(std::move(r)); });
      if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  postgres::Connection admin(url_);
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    for (int pid : sessions(admin, "writer")) {
      auto st = admin.prepare("SELECT pg_terminate_backend($1::int)");
      st.bind(1, pid);
      st.run();
    }
  }
  submitter.join();
  std::set<std::int64_t> confirmed;
  int transient = 0;
  for (int i = 0; i < kStormUnits; ++i) {
    auto& f = outcomes[static_cast<std::size_t>(i)];
    ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "unit " << i << " hangs";
    auto r = f.get();
    if (r.ok()) {
      confirmed.insert(i);
    } else {
      EXPECT_TRUE(r.error().transient) << "unit " << i << ": " << r.error().message;
      transient += 1;
    }
  }
  std::set<std::int64_t> stored;
  for (const auto& e : test::read(*one_, [](Reads& r) {
         EventFilter f;
         f.sn = "D1";
         f.limit = 0;
         return r.events().list(f);
       }))
    stored.insert(e.index.value_or(-1));
  std::vector<std::int64_t> lost;
  std::set_difference(confirmed.begin(), confirmed.end(), stored.begin(), stored.end(), std::back_inserter(lost));
  EXPECT_TRUE(lost.empty()) << lost.size() << " confirmed unit(s) not stored, first " << lost.front();
  // And it goes on.
  marker(*one_, heard_two_, "after");
  std::cout << "[          ] " << confirmed.size() << " units stored, " << transient << " failed transiently\n";
}

TEST_F(PostgresFeed, SessionsLostWhileIdleAreReplacedBeforeTheNextUnit) {
  test::write(*one_, [](Transaction& tx) { tx.devices().save(feed_device("D1")); });
  // Several pooled readers: reads at once on the reader threads.
  std::vector<std::future<StoreResult<std::int64_t>>> reads;
  for (int i = 0; i < 4; ++i) {
    auto promise = std::make_shared<std::promise<StoreResult<std::int64_t>>>();
    reads.push_back(promise->get_future());
    one_->read([](Reads& r) { return r.devices().count(); },
               [promise](StoreResult<std::int64_t> r) { promise->set_value(std::move(r)); });
  }
  for (auto& f : reads) ASSERT_TRUE(f.get().ok());

  // Every writer and reader session of both stores ends, as in a restart of the server: the next
  // units of each store run on new sessions, none fails for it.
  postgres::Connection admin(url_);
  for (const char* role : {"writer", "reader"})
    for (int pid : sessions(admin, role)) terminate(admin, pid);

  for (Store* s : {one_.get(), two_.get()}) {
    auto w = s->write_now([](Transaction& tx) { tx.events().insert({feed_event("D1", 7)}); });
    EXPECT_TRUE(w.ok()) << w.error().message;
    auto r = s->read_now([](Reads& reads) { return reads.events().count("D1"); });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value(), 1);
    std::promise<StoreResult<std::int64_t>> p;
    s->read([](Reads& reads) { return reads.devices().count(); },
            [&p](StoreResult<std::int64_t> r2) { p.set_value(std::move(r2)); });
    auto async_read = p.get_future().get();
    EXPECT_TRUE(async_read.ok()) << async_read.error().message;
  }
}

}  // namespace
}  // namespace zkpush::storage
