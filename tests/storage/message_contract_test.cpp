// The store contract for the message log and webhooks (storage/areas/messages.hpp, webhooks.hpp),
// run against every backend: events, door-state changes and closed commands enter the log in the
// transaction that stores them, with the row they name; presence messages carry their body; the
// log filters by kind and device and is pruned by age; a webhook's progress moves its cursor
// forward only and keeps its dead letters until they are delivered again.
#include <gtest/gtest.h>

#include "storage/store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {


class MessageContract : public testing::ContractTest {
 protected:
  static NewEvent event(const std::string& sn, std::int64_t index, std::int64_t at) {
    NewEvent e;
    e.sn = sn;
    e.index = index;
    e.time_local = "2026-12-06 10:00:0" + std::to_string(index);
    e.pin = "7";
    e.raw = "pin=7";
    e.received_at = at;
    return e;
  }
};

TEST_P(MessageContract, WhatIsStoredEntersTheLogWithItsRow) {
  write([](Transaction& tx) {
    tx.events().insert({event("A1", 1, 100), event("A1", 2, 100)});
    tx.events().insert({event("A1", 1, 100)});  // a re-send: no second message
    DoorStateUpdate d{"A1", "2026-12-06 10:00:03", "01", "00", "00", 101};
    tx.door_states().put(d);
    tx.door_states().put(d);  // unchanged: no history row, no message
    tx.messages().add("device", "B2", R"({"sn":"B2","state":"online"})", 102);
  });
  auto all = read([](Reads& r) { return r.messages().list(MessageFilter{0, 100, "", {}}); });
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].kind, "event");
  ASSERT_TRUE(all[0].event);
  EXPECT_EQ(all[0].event->index, 1);
  EXPECT_EQ(all[0].event->pin, "7");
  EXPECT_EQ(all[0].ref, all[0].event->id);
  EXPECT_EQ(all[0].at, 100);
  EXPECT_EQ(all[1].event->index, 2);
  EXPECT_EQ(all[2].kind, "door_state");
  ASSERT_TRUE(all[2].door_state);
  EXPECT_EQ(all[2].door_state->sensor, "01");
  EXPECT_EQ(all[3].kind, "device");
  EXPECT_EQ(all[3].body, R"({"sn":"B2","state":"online"})");
  EXPECT_FALSE(all[3].event || all[3].door_state);
  EXPECT_LT(all[0].id, all[1].id);
  EXPECT_EQ(read([](Reads& r) { return r.messages().last_id(); }), all[3].id);

  // Filters: after an id, by kind, by device; by id.
  EXPECT_EQ(read([&](Reads& r) { return r.messages().list(MessageFilter{all[1].id, 100, "", {}}); }).size(), 2u);
  auto kinds = read([](Reads& r) { return r.messages().list(MessageFilter{0, 100, "", {"door_state", "device"}}); });
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].kind, "door_state");
  EXPECT_EQ(read([](Reads& r) { return r.messages().list(MessageFilter{0, 100, "B2", {}}); }).size(), 1u);
  EXPECT_EQ(read([](Reads& r) { return r.messages().list(MessageFilter{0, 1, "", {}}); }).size(), 1u);
  auto some = read([&](Reads& r) { return r.messages().get({all[3].id, all[0].id, 999999}); });
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].id, all[0].id);

  // A consumer's cursor: none at first, then forward only.
  EXPECT_FALSE(read([](Reads& r) { return r.messages().cursor("mqtt"); }));
  write([](Transaction& tx) { tx.messages().set_cursor("mqtt", 3); });
  write([](Transaction& tx) { tx.messages().set_cursor("mqtt", 2); });
  EXPECT_EQ(read([](Reads& r) { return r.messages().cursor("mqtt"); }), std::optional<std::int64_t>(3));
  EXPECT_FALSE(read([](Reads& r) { return r.messages().cursor("other"); }));

  // Pruned by age.
  EXPECT_EQ(write([](Transaction& tx) { return tx.messages().prune(101, 1); }), 1);  // in batches
  EXPECT_EQ(write([](Transaction& tx) { return tx.messages().prune(101, 0); }), 1);
  EXPECT_EQ(read([](Reads& r) { return r.messages().list(MessageFilter{0, 100, "", {}}); }).size(), 2u);
}

TEST_P(MessageContract, ACommandThatClosesIsAMessage) {
  auto row = write([](Transaction& tx) {
    Device d;
    d.sn = "C3";
    d.approved = true;
    tx.devices().save(d);
    NewCommand c{"C3", "CONTROL DEVICE 01010105", "CONTROL DEVICE", CommandPriority::control, 200, 0};
    return tx.commands().insert(c, 200);
  });
  row.status = CommandStatus::sent;
  write([&](Transaction& tx) { tx.commands().update(row); });
  EXPECT_TRUE(read([](Reads& r) { return r.messages().list(MessageFilter{}); }).empty());
  row.status = CommandStatus::done;
  row.return_code = 0;
  row.done_at = 205;
  write([&](Transaction& tx) { tx.commands().update(row); });
  write([&](Transaction& tx) { tx.commands().update(row); });  // no change of status: no second message
  auto log = read([](Reads& r) { return r.messages().list(MessageFilter{}); });
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, "command");
  EXPECT_EQ(log[0].sn, "C3");
  EXPECT_EQ(log[0].ref, row.id);
  EXPECT_EQ(log[0].at, 205);
}

TEST_P(MessageContract, AWebhooksCursorMovesForwardAndItsDeadLettersWaitForRedelivery) {
  Webhook w;
  w.url = "http://127.0.0.1:9/x";
  w.secret = "s";
  w.kinds = "event";
  w.cursor = 5;
  w.created_at = 1;
  const auto id = write([&](Transaction& tx) { return tx.webhooks().insert(w); });
  WebhookProgress p;
  p.id = id;
  p.cursor = 9;
  p.delivered = 3;
  p.last_status = 500;
  p.last_error = "HTTP 500";
  p.last_attempt_at = 10;
  p.dead.push_back(DeadLetter{0, id, 8, 4, 500, "HTTP 500", 10, false});
  write([&](Transaction& tx) { tx.webhooks().progress(p); });
  WebhookProgress back;  // an older cursor never moves it back
  back.id = id;
  back.cursor = 7;
  write([&](Transaction& tx) { tx.webhooks().progress(back); });
  auto stored = read([&](Reads& r) { return r.webhooks().get(id); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->cursor, 9);
  EXPECT_EQ(stored->delivered, 3);
  EXPECT_EQ(stored->dead_letters, 1);
  EXPECT_EQ(stored->secret, "s");
  auto dead = read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 10, false); });
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message_id, 8);
  EXPECT_FALSE(dead[0].redeliver);
  EXPECT_TRUE(read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 10, true); }).empty());
  EXPECT_EQ(write([&](Transaction& tx) { return tx.webhooks().redeliver(id, {}); }), 1);
  EXPECT_EQ(write([&](Transaction& tx) { return tx.webhooks().redeliver(id, {}); }), 0);  // already asked
  ASSERT_EQ(read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 10, true); }).size(), 1u);
  WebhookProgress done;
  done.id = id;
  done.redelivered.push_back(dead[0].id);
  write([&](Transaction& tx) { tx.webhooks().progress(done); });
  EXPECT_TRUE(read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 10, false); }).empty());
  EXPECT_TRUE(write([&](Transaction& tx) { return tx.webhooks().remove(id); }));
  EXPECT_FALSE(write([&](Transaction& tx) { return tx.webhooks().remove(id); }));
  EXPECT_TRUE(read([](Reads& r) { return r.webhooks().all(); }).empty());
}

// A round that gives up on several messages keeps them in the order given; those asked again and
// failing again add their attempts and wait to be asked once more; one webhook's progress never
// touches another's dead letters.
TEST_P(MessageContract, ARoundsDeadLettersKeepTheirOrderAndFailingAgainAddsTheirAttempts) {
  Webhook w;
  w.url = "http://127.0.0.1:9/x";
  w.secret = "s";
  w.kinds = "*";
  w.created_at = 1;
  const auto id = write([&](Transaction& tx) { return tx.webhooks().insert(w); });
  const auto other = write([&](Transaction& tx) { return tx.webhooks().insert(w); });
  WebhookProgress p;
  p.id = id;
  p.cursor = 12;
  p.last_attempt_at = 20;
  // Errors as receivers write them: quotes, commas, braces and backslashes kept as they are.
  p.dead.push_back(DeadLetter{0, id, 12, 4, 500, R"(HTTP 500 {"error": "a, b"})", 20, false});
  p.dead.push_back(DeadLetter{0, id, 10, 3, 0, "connect: refused \\ \"x\"", 21, false});
  p.dead.push_back(DeadLetter{0, id, 11, 2, 404, "", 22, false});
  write([&](Transaction& tx) { tx.webhooks().progress(p); });
  WebhookProgress theirs;
  theirs.id = other;
  theirs.dead.push_back(DeadLetter{0, other, 10, 1, 500, "HTTP 500", 20, false});
  write([&](Transaction& tx) { tx.webhooks().progress(theirs); });

  auto dead = read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 0, false); });
  ASSERT_EQ(dead.size(), 3u);
  // Newest first: the reverse of the order given.
  EXPECT_EQ(dead[0].message_id, 11);
  EXPECT_EQ(dead[1].message_id, 10);
  EXPECT_EQ(dead[2].message_id, 12);
  EXPECT_EQ(dead[2].last_error, p.dead[0].last_error);
  EXPECT_EQ(dead[1].last_error, p.dead[1].last_error);
  EXPECT_EQ(dead[0].last_error, "");
  EXPECT_EQ(dead[2].attempts, 4);
  EXPECT_EQ(dead[2].last_status, 500);
  EXPECT_EQ(dead[2].failed_at, 20);
  for (const auto& d : dead) EXPECT_EQ(d.webhook_id, id);
  EXPECT_EQ(read([&](Reads& r) { return r.webhooks().get(id); })->dead_letters, 3);
  auto older = read([&](Reads& r) { return r.webhooks().dead_letters(id, dead[0].id, 1, false); });
  ASSERT_EQ(older.size(), 1u);
  EXPECT_EQ(older[0].id, dead[1].id);

  // Two asked again, by id; another webhook's id among them is not this one's to ask.
  auto mine = read([&](Reads& r) { return r.webhooks().dead_letters(other, 0, 0, false); });
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(write([&](Transaction& tx) { return tx.webhooks().redeliver(id, {dead[2].id, dead[1].id, mine[0].id}); }), 2);
  auto again = read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 0, true); });
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].message_id, 12);  // oldest first, as they are delivered
  EXPECT_EQ(again[1].message_id, 10);

  // One delivered at last, one failing again; ids of another webhook in the round change nothing.
  WebhookProgress round;
  round.id = id;
  round.redelivered = {again[1].id, mine[0].id};
  round.failed_again.push_back(DeadLetter{again[0].id, id, 12, 2, 503, "HTTP 503", 30, false});
  round.failed_again.push_back(DeadLetter{mine[0].id, id, 10, 5, 503, "HTTP 503", 30, false});
  write([&](Transaction& tx) { tx.webhooks().progress(round); });
  dead = read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 0, false); });
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].message_id, 11);
  EXPECT_EQ(dead[0].attempts, 2);  // not in the round: untouched
  EXPECT_EQ(dead[1].message_id, 12);
  EXPECT_EQ(dead[1].attempts, 6);
  EXPECT_EQ(dead[1].last_status, 503);
  EXPECT_EQ(dead[1].last_error, "HTTP 503");
  EXPECT_EQ(dead[1].failed_at, 30);
  EXPECT_FALSE(dead[1].redeliver);
  EXPECT_TRUE(read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 0, true); }).empty());
  auto still = read([&](Reads& r) { return r.webhooks().dead_letters(other, 0, 0, false); });
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0], mine[0]);

  // A removed webhook's round writes nothing, and its dead letters went with it.
  EXPECT_TRUE(write([&](Transaction& tx) { return tx.webhooks().remove(id); }));
  write([&](Transaction& tx) { tx.webhooks().progress(p); });
  EXPECT_TRUE(read([&](Reads& r) { return r.webhooks().dead_letters(id, 0, 0, false); }).empty());
  EXPECT_FALSE(read([&](Reads& r) { return r.webhooks().get(id); }));
  ASSERT_EQ(read([](Reads& r) { return r.webhooks().all(); }).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, MessageContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
