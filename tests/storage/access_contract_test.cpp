// The store contract for the access domain and the sync bookkeeping (storage/areas/access.hpp,
// storage/areas/sync.hpp), run against every backend: persons with cards and levels, unique pins
// and cards, time rules (rule 1 always there and never deleted), levels with their doors, and sync
// items through their states.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "storage/store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using Reason = StoreError::Reason;

class AccessContract : public testing::ContractTest {
 protected:
  // A write expected to be refused: its reason.
  template <class Job>
  Reason refused(Job job) {
    auto r = store_->write_now(std::move(job));
    EXPECT_FALSE(r.ok());
    return r.ok() ? Reason::none : r.error().reason;
  }
};

Person make_person(const std::string& pin, std::vector<std::string> cards = {}, std::vector<std::int64_t> levels = {}) {
  Person p;
  p.pin = pin;
  p.name = "Person " + pin;
  for (auto& c : cards) p.cards.push_back(Card{c, false});
  p.levels = std::move(levels);
  return p;
}

TEST_P(AccessContract, RuleOneIsAlwaysAndCannotGo) {
  auto one = read([](Reads& r) { return r.access().time_rule(kAlwaysRule); });
  ASSERT_TRUE(one);
  for (const auto& day : one->days) EXPECT_EQ(day, (std::vector<Period>{{0, 1439}}));
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().delete_time_rule(kAlwaysRule); }), Reason::conflict);
}

TEST_P(AccessContract, AntiPassbackZonesAndWhereEachPersonStands) {
  ApbZone zone{0, "Lab", "logical", 0, {{"B", 1, "out"}, {"A", 1, "in"}}};
  const auto id = write([zone](Transaction& tx) { return tx.access().insert_apb_zone(zone); });
  const auto other = write([](Transaction& tx) {
    return tx.access().insert_apb_zone(ApbZone{0, "Hall", "timed", 5, {{"A", 1, "out"}, {"C", 2, "reader"}}});
  });
  auto stored = read([id](Reads& r) { return r.access().apb_zone(id); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->name, "Lab");
  EXPECT_EQ(stored->doors, (std::vector<ApbZoneDoor>{{"A", 1, "in"}, {"B", 1, "out"}}));  // by sn, door
  EXPECT_EQ(read([](Reads& r) { return r.access().apb_zones(); }).size(), 2u);
  // The zones of a door: both hold door 1 of A, one holds door 2 of C, none door 2 of A.
  EXPECT_EQ(read([](Reads& r) { return r.access().apb_zones_at("A", 1); }).size(), 2u);
  auto at_c = read([](Reads& r) { return r.access().apb_zones_at("C", 2); });
  ASSERT_EQ(at_c.size(), 1u);
  EXPECT_EQ(at_c[0].id, other);
  EXPECT_EQ(at_c[0].minutes, 5);
  EXPECT_TRUE(read([](Reads& r) { return r.access().apb_zones_at("A", 2); }).empty());

  // Presence: put, read back, replaced, reset one or all.
  write([id](Transaction& tx) {
    tx.access().put_apb_presence(ApbPresence{id, "55", true, 100, 0});
    tx.access().put_apb_presence(ApbPresence{id, "56", true, 101, 0});
    tx.access().put_apb_presence(ApbPresence{id, "55", false, 100, 200});
  });
  EXPECT_EQ(read([id](Reads& r) { return r.access().apb_presence(id, "55"); }), (ApbPresence{id, "55", false, 100, 200}));
  EXPECT_FALSE(read([id](Reads& r) { return r.access().apb_presence(id, "57"); }));
  EXPECT_EQ(read([id](Reads& r) { return r.access().apb_presences(id); }).size(), 2u);
  EXPECT_EQ(write([id](Transaction& tx) { return tx.access().reset_apb(id, "56"); }), 1);
  EXPECT_EQ(write([id](Transaction& tx) { return tx.access().reset_apb(id, ""); }), 1);
  EXPECT_TRUE(read([id](Reads& r) { return r.access().apb_presences(id); }).empty());

  // A replaced panel's doors keep their places in the zones.
  write([](Transaction& tx) { tx.access().move_panel("C", "C2"); });
  EXPECT_EQ(read([other](Reads& r) { return r.access().apb_zone(other); })->doors,
            (std::vector<ApbZoneDoor>{{"A", 1, "out"}, {"C2", 2, "reader"}}));
  EXPECT_TRUE(read([](Reads& r) { return r.access().apb_zones_at("C", 2); }).empty());

  // Update replaces the doors; delete takes the presences with it; unknown ids are not_found.
  zone.id = id;
  zone.doors = {{"A", 3, "in"}};
  write([zone](Transaction& tx) { tx.access().update_apb_zone(zone); });
  EXPECT_EQ(read([id](Reads& r) { return r.access().apb_zone(id); })->doors, (std::vector<ApbZoneDoor>{{"A", 3, "in"}}));
  write([id](Transaction& tx) { tx.access().put_apb_presence(ApbPresence{id, "55", true, 300, 0}); });
  write([id](Transaction& tx) { tx.access().delete_apb_zone(id); });
  EXPECT_FALSE(read([id](Reads& r) { return r.access().apb_zone(id); }));
  EXPECT_FALSE(read([id](Reads& r) { return r.access().apb_presence(id, "55"); }));
  EXPECT_EQ(refused([id](Transaction& tx) { tx.access().delete_apb_zone(id); }), Reason::not_found);
  zone.id = 999;
  EXPECT_EQ(refused([zone](Transaction& tx) { tx.access().update_apb_zone(zone); }), Reason::not_found);
}

TEST_P(AccessContract, PersonsComeBackWithCardsLevelsAndCredentials) {
  const auto level = write([](Transaction& tx) {
    return tx.access().insert_level(AccessLevel{0, "front", kAlwaysRule, {{"PANEL1", 2}, {"PANEL1", 1}, {"PANEL2", 1}}});
  });
  auto p = make_person("100", {"3102210", "42"}, {level});
  p.cards[1].lost = true;
  write([p](Transaction& tx) { tx.access().insert_person(p); });
  write([](Transaction& tx) {
    Credential c;
    c.type = "fingerprint";
    c.no = 6;
    c.format = "templatev10";
    c.content = "AAAA";
    c.enrolled_at = "PANEL1";
    tx.access().put_credential("100", c);
  });
  auto got = read([](Reads& r) { return r.access().person("100"); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cards, (std::vector<Card>{{"3102210", false}, {"42", true}}));
  EXPECT_EQ(got->levels, std::vector<std::int64_t>{level});
  ASSERT_EQ(got->credentials.size(), 1u);
  EXPECT_EQ(got->credentials[0].no, 6);
  EXPECT_EQ(got->credentials[0].enrolled_at, "PANEL1");
  EXPECT_EQ(read([](Reads& r) { return r.access().card_owner("42"); }), std::optional<std::string>("100"));
  EXPECT_EQ(read([level](Reads& r) { return r.access().holders({level}); }), std::vector<std::string>{"100"});
  auto on_panel = read([](Reads& r) { return r.access().levels_on("PANEL1"); });
  ASSERT_EQ(on_panel.size(), 1u);
  EXPECT_EQ(on_panel[0].doors, (std::vector<LevelDoor>{{"PANEL1", 1}, {"PANEL1", 2}, {"PANEL2", 1}}));
  EXPECT_EQ(read([](Reads& r) { return r.access().panels(); }), (std::vector<std::string>{"PANEL1", "PANEL2"}));
}

TEST_P(AccessContract, ACredentialOfTheSameKindReplacesTheOldAndOneCanBeDeleted) {
  write([](Transaction& tx) { tx.access().insert_person(make_person("5")); });
  auto put = [](int bio_type, int no, std::string format, std::string content) {
    return [=](Transaction& tx) {
      Credential c;
      c.type = bio_type == 1 ? "fingerprint" : "face";
      c.bio_type = bio_type;
      c.no = no;
      c.format = format;
      c.content = content;
      return tx.access().put_credential("5", c);
    };
  };
  const auto first = write(put(1, 2, "templatev10", "OLD"));
  write(put(1, 2, "templatev10", "NEW"));      // same type, finger, index and format: replaced
  const auto face = write(put(9, 0, "biodata", "FACE"));
  write(put(9, 0, "biophoto", "PHOTO"));      // a photo of the face is another credential
  auto got = read([](Reads& r) { return r.access().person("5"); });
  ASSERT_TRUE(got);
  ASSERT_EQ(got->credentials.size(), 3u);
  std::map<std::string, std::string> by_format;
  for (const auto& c : got->credentials) by_format[c.format + std::to_string(c.bio_type)] = c.content;
  EXPECT_EQ(by_format["templatev101"], "NEW");
  EXPECT_EQ(by_format["biodata9"], "FACE");
  EXPECT_EQ(by_format["biophoto9"], "PHOTO");
  write([face](Transaction& tx) { tx.access().delete_credential("5", face); });
  EXPECT_EQ(read([](Reads& r) { return r.access().person("5"); })->credentials.size(), 2u);
  EXPECT_EQ(refused([face](Transaction& tx) { tx.access().delete_credential("5", face); }), Reason::not_found);
  EXPECT_EQ(refused([first](Transaction& tx) { tx.access().delete_credential("6", first); }), Reason::not_found);
  EXPECT_EQ(refused([](Transaction& tx) {
              Credential c;
              c.format = "templatev10";
              c.content = "X";
              tx.access().put_credential("6", c);
            }),
            Reason::not_found);
}

TEST_P(AccessContract, DoorSettingsAreKeptPerPanelAndDoorAndMoveWithAReplacedPanel) {
  write([](Transaction& tx) {
    tx.access().put_door_settings(DoorSettings{"OLD1", 1, "Front", R"({"drive_time":5})", 10});
    tx.access().put_door_settings(DoorSettings{"OLD1", 0, "", R"({"interlock":1})", 10});
    tx.access().put_door_settings(DoorSettings{"OTHER", 2, "Back", "{}", 10});
  });
  write([](Transaction& tx) { tx.access().put_door_settings(DoorSettings{"OLD1", 1, "Front door", R"({"drive_time":7})", 11}); });
  auto front = read([](Reads& r) { return r.access().door_setting("OLD1", 1); });
  ASSERT_TRUE(front);
  EXPECT_EQ(*front, (DoorSettings{"OLD1", 1, "Front door", R"({"drive_time":7})", 11}));
  EXPECT_EQ(read([](Reads& r) { return r.access().door_settings(""); }).size(), 3u);
  EXPECT_EQ(read([](Reads& r) { return r.access().door_settings("OLD1"); }).size(), 2u);
  EXPECT_FALSE(read([](Reads& r) { return r.access().door_setting("OLD1", 3); }));
  write([](Transaction& tx) { tx.access().move_panel("OLD1", "NEW1"); });
  EXPECT_TRUE(read([](Reads& r) { return r.access().door_settings("OLD1"); }).empty());
  auto moved = read([](Reads& r) { return r.access().door_settings("NEW1"); });
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[0].door, 0);
  EXPECT_EQ(moved[1].name, "Front door");
}

TEST_P(AccessContract, PinsAndCardsAreUniqueAndLevelsMustExist) {
  write([](Transaction& tx) { tx.access().insert_person(make_person("1", {"111"})); });
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().insert_person(make_person("1")); }), Reason::conflict);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().insert_person(make_person("2", {"111"})); }), Reason::conflict);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().insert_person(make_person("3", {}, {77})); }), Reason::not_found);
  // A refused write leaves nothing behind.
  EXPECT_FALSE(read([](Reads& r) { return r.access().person("2"); }));
  EXPECT_EQ(read([](Reads& r) { return r.access().person_count(); }), 1);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().update_person(make_person("9")); }), Reason::not_found);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().delete_person("9"); }), Reason::not_found);
}

TEST_P(AccessContract, ARuleInUseCannotGoAndALevelGoesWithItsHoldings) {
  const auto rule = write([](Transaction& tx) {
    TimeRule r;
    r.name = "office";
    r.days[1] = {Period{480, 1080}};
    return tx.access().insert_time_rule(r);
  });
  const auto level = write([rule](Transaction& tx) {
    return tx.access().insert_level(AccessLevel{0, "office", rule, {{"P", 1}}});
  });
  write([level](Transaction& tx) { tx.access().insert_person(make_person("5", {}, {level})); });
  EXPECT_EQ(refused([rule](Transaction& tx) { tx.access().delete_time_rule(rule); }), Reason::conflict);
  write([level](Transaction& tx) { tx.access().delete_level(level); });
  EXPECT_TRUE(read([](Reads& r) { return r.access().person("5"); })->levels.empty());
  write([rule](Transaction& tx) { tx.access().delete_time_rule(rule); });
  EXPECT_FALSE(read([rule](Reads& r) { return r.access().time_rule(rule); }));
}

TEST_P(AccessContract, HolidaysComeBackAndGo) {
  const auto id = write([](Transaction& tx) {
    return tx.access().insert_holiday(Holiday{0, "Christmas", "2026-12-24", "2026-12-26", 2, true});
  });
  auto h = read([id](Reads& r) { return r.access().holiday(id); });
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, (Holiday{id, "Christmas", "2026-12-24", "2026-12-26", 2, true}));
  h->end = "2026-12-25";
  write([h](Transaction& tx) { tx.access().update_holiday(*h); });
  EXPECT_EQ(read([](Reads& r) { return r.access().holidays(); }), std::vector<Holiday>{*h});
  write([id](Transaction& tx) { tx.access().delete_holiday(id); });
  EXPECT_EQ(refused([id](Transaction& tx) { tx.access().delete_holiday(id); }), Reason::not_found);
  EXPECT_EQ(refused([h](Transaction& tx) { tx.access().update_holiday(*h); }), Reason::not_found);
}

TEST_P(AccessContract, PanelChecksAndUnmanagedRecordsAreKeptPerPanel) {
  EXPECT_EQ(read([](Reads& r) { return r.sync().panel("P1").checked_at; }), 0);
  write([](Transaction& tx) {
    tx.sync().count_commands("P1", 3);
    tx.sync().set_check("P1", 100, true, "asked");
    tx.sync().set_unmanaged("P1", "user", {"9", "8"});
    tx.sync().set_unmanaged("P2", "user", {"7"});
  });
  auto panel = read([](Reads& r) { return r.sync().panel("P1"); });
  EXPECT_EQ(panel.commands, 3);
  EXPECT_EQ(panel.checked_at, 100);
  EXPECT_TRUE(panel.check_wanted);
  EXPECT_EQ(panel.check_result, "asked");
  EXPECT_EQ(read([](Reads& r) { return r.sync().unmanaged("P1"); }),
            (std::vector<SyncKey>{{"P1", "user", "8"}, {"P1", "user", "9"}}));
  write([](Transaction& tx) { tx.sync().set_unmanaged("P1", "user", {"8"}); });
  EXPECT_EQ(read([](Reads& r) { return r.sync().unmanaged("P1").size(); }), 1u);
  EXPECT_EQ(read([](Reads& r) { return r.sync().checked_panels(); }),
            (std::vector<std::pair<std::string, std::int64_t>>{{"P1", 100}}));
  // Applied counts and what is in flight.
  write([](Transaction& tx) {
    tx.sync().put_desired(SyncKey{"P1", "person", "1"}, std::string("A"), 10);
    auto item = *tx.sync().item(SyncKey{"P1", "person", "1"});
    item.applied = item.desired;
    item.state = SyncState::applied;
    tx.sync().update(item);
    tx.sync().link(77, {SyncKey{"P1", "check", "query"}});
  });
  EXPECT_EQ(read([](Reads& r) { return r.sync().applied_count("P1", "person"); }), 1);
  EXPECT_TRUE(read([](Reads& r) { return r.sync().in_flight("P1"); }));
  EXPECT_FALSE(read([](Reads& r) { return r.sync().in_flight("P2"); }));
}

TEST_P(AccessContract, SyncItemsMoveThroughTheirStates) {
  const SyncKey key{"P1", "person", "7"};
  write([key](Transaction& tx) { tx.sync().put_desired(key, std::string("A"), 10); });
  auto counts = read([](Reads& r) { return r.sync().counts("P1"); });
  EXPECT_EQ(counts.pending, 1);
  EXPECT_EQ(read([](Reads& r) { return r.sync().next_due("P1"); }), std::optional<std::int64_t>(0));

  // Sent in command 5, then applied.
  write([key](Transaction& tx) {
    auto due = tx.sync().due("P1", 10, 0);
    ASSERT_EQ(due.size(), 1u);
    due[0].state = SyncState::sending;
    due[0].sending = due[0].desired;
    tx.sync().update(due[0]);
    tx.sync().link(5, {key});
    tx.sync().count_commands("P1", 1);
  });
  EXPECT_FALSE(read([](Reads& r) { return r.sync().next_due("P1"); }));  // in flight
  EXPECT_EQ(read([](Reads& r) { return r.sync().carried_by(5); }), std::vector<SyncKey>{key});
  write([key](Transaction& tx) {
    auto i = *tx.sync().item(key);
    i.applied = i.sending;
    i.sending.reset();
    i.state = SyncState::applied;
    tx.sync().update(i);
    tx.sync().unlink(5);
  });
  counts = read([](Reads& r) { return r.sync().counts("P1"); });
  EXPECT_EQ(counts.applied, 1);
  EXPECT_EQ(counts.commands, 1);
  EXPECT_EQ(counts.in_flight, 0);

  // The same content again changes nothing; nothing desired and nothing applied removes it.
  write([key](Transaction& tx) { tx.sync().put_desired(key, std::string("A"), 11); });
  EXPECT_EQ(read([](Reads& r) { return r.sync().counts("P1"); }).applied, 1);
  write([key](Transaction& tx) { tx.sync().put_desired(key, std::nullopt, 12); });
  EXPECT_EQ(read([](Reads& r) { return r.sync().counts("P1"); }).pending, 1);
  write([key](Transaction& tx) { tx.sync().forget_applied("P1", 13); });
  EXPECT_FALSE(read([key](Reads& r) { return r.sync().item(key); }));
}

TEST_P(AccessContract, FailedItemsAreDueAtTheirRetry) {
  const SyncKey key{"P2", "timerule", "3"};
  write([key](Transaction& tx) {
    tx.sync().put_desired(key, std::string("R"), 10);
    auto i = *tx.sync().item(key);
    i.state = SyncState::failed;
    i.return_code = -12;
    i.retry_at = 100;
    tx.sync().update(i);
  });
  EXPECT_TRUE(write([](Transaction& tx) { return tx.sync().due("P2", 99, 0); }).empty());
  EXPECT_EQ(write([](Transaction& tx) { return tx.sync().due("P2", 100, 0); }).size(), 1u);
  EXPECT_EQ(read([](Reads& r) { return r.sync().next_due("P2"); }), std::optional<std::int64_t>(100));
  auto failures = read([](Reads& r) { return r.sync().failures("P2", 10); });
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].return_code, std::optional<std::int64_t>(-12));
  EXPECT_EQ(read([](Reads& r) { return r.sync().due_panels(); }),
            (std::vector<std::pair<std::string, std::int64_t>>{{"P2", 100}}));
}

// What a command carries is marked sending in one go, and settled in one go when it succeeds:
// only items it alone was sending with no error noted; a deletion settled is no longer tracked; an
// item whose desired content changed meanwhile stays pending.
TEST_P(AccessContract, ACommandsItemsAreMarkedSendingAndSettledTogether) {
  const SyncKey a{"P3", "person", "1"}, b{"P3", "person", "2"}, c{"P3", "person", "3"}, d{"P3", "person", "4"};
  write([&](Transaction& tx) {
    for (const auto& k : {a, b, c}) tx.sync().put_desired(k, std::string("v1"), 10);
    // d: applied once, now to be deleted from the panel.
    tx.sync().put_desired(d, std::string("old"), 10);
    auto i = *tx.sync().item(d);
    i.applied = i.desired;
    i.state = SyncState::applied;
    tx.sync().update(i);
    tx.sync().put_desired(d, std::nullopt, 11);
  });
  write([&](Transaction& tx) {
    tx.sync().link(7, {a, b, d});
    tx.sync().link(8, {b, c});  // b travels in two commands
    tx.sync().mark_sending(7, 12);
    tx.sync().mark_sending(8, 12);
  });
  for (const auto& k : {a, b, c, d}) {
    auto i = read([k](Reads& r) { return r.sync().item(k); });
    ASSERT_TRUE(i);
    EXPECT_EQ(i->state, SyncState::sending) << k.key;
    EXPECT_EQ(i->sending, i->desired) << k.key;
  }
  EXPECT_EQ(read([](Reads& r) { return r.sync().carried_alone(7); }), (std::vector<SyncKey>{a, d}));  // b: also in 8
  // a changes while in flight: applied is what was sent, and it is pending again.
  write([&](Transaction& tx) { tx.sync().put_desired(a, std::string("v2"), 13); });
  auto settled = write([&](Transaction& tx) {
    auto keys = tx.sync().settle_sent(7, 14);
    tx.sync().unlink(7);
    return keys;
  });
  std::sort(settled.begin(), settled.end(), [](const SyncKey& x, const SyncKey& y) { return x.key < y.key; });
  EXPECT_EQ(settled, (std::vector<SyncKey>{a, d}));  // b is still in command 8
  auto ia = read([a](Reads& r) { return r.sync().item(a); });
  EXPECT_EQ(ia->applied, std::optional<std::string>("v1"));
  EXPECT_EQ(ia->state, SyncState::pending);
  EXPECT_FALSE(read([d](Reads& r) { return r.sync().item(d); }));
  EXPECT_EQ(read([b](Reads& r) { return r.sync().item(b); })->state, SyncState::sending);
  settled = write([&](Transaction& tx) { return tx.sync().settle_sent(8, 15); });
  std::sort(settled.begin(), settled.end(), [](const SyncKey& x, const SyncKey& y) { return x.key < y.key; });
  EXPECT_EQ(settled, (std::vector<SyncKey>{b, c}));
  EXPECT_EQ(read([b](Reads& r) { return r.sync().item(b); })->state, SyncState::applied);
  EXPECT_EQ(read([c](Reads& r) { return r.sync().item(c); })->applied, std::optional<std::string>("v1"));
}

// API tokens: kept by hash, one row per hash, revoked once.
TEST_P(AccessContract, TokensAreKeptByHashAndRevokedOnce) {
  ApiToken t;
  t.name = "dashboard";
  t.role = "viewer";
  t.hash = std::string(64, 'a');
  t.created_at = 5;
  const auto id = write([t](Transaction& tx) { return tx.tokens().insert(t); });
  EXPECT_GT(id, 0);
  EXPECT_EQ(refused([t](Transaction& tx) { tx.tokens().insert(t); }), Reason::conflict);
  auto got = read([id](Reads& r) { return r.tokens().get(id); });
  ASSERT_TRUE(got);
  t.id = id;
  EXPECT_EQ(*got, t);
  EXPECT_TRUE(write([id](Transaction& tx) { return tx.tokens().revoke(id, 9); }));
  EXPECT_FALSE(write([id](Transaction& tx) { return tx.tokens().revoke(id, 10); }));
  auto all = read([](Reads& r) { return r.tokens().all(); });
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].revoked_at, 9);
  EXPECT_FALSE(read([](Reads& r) { return r.tokens().get(404); }));
}

// A round cut short never carries a record before what it names: holidays and time rules first,
// then options, persons, and last the rows that name persons.
TEST_P(AccessContract, DueItemsComeInTheOrderThePanelNeedsThem) {
  write([](Transaction& tx) {
    for (const auto& [kind, key] : std::vector<std::pair<std::string, std::string>>{
             {"firstcard", "1"}, {"linkage", "1"}, {"person", "7"}, {"door", "1"}, {"timerule", "2"}, {"holidays", "all"}})
      tx.sync().put_desired(SyncKey{"P4", kind, key}, std::string("x"), 10);
  });
  auto kinds = [&](std::int64_t limit) {
    std::vector<std::string> out;
    for (const auto& i : write([limit](Transaction& tx) { return tx.sync().due("P4", 10, limit); })) out.push_back(i.id.kind);
    return out;
  };
  EXPECT_EQ(kinds(2), (std::vector<std::string>{"holidays", "timerule"}));
  EXPECT_EQ(kinds(0), (std::vector<std::string>{"holidays", "timerule", "door", "person", "firstcard", "linkage"}));
}

// What the console reads in one go: every panel's counts (as counts() gives each), and one
// person's item on every panel that has one.
TEST_P(AccessContract, PanelCountsAndAPersonsItemsAcrossPanelsComeInOneRead) {
  EXPECT_TRUE(read([](Reads& r) { return r.sync().panel_counts(); }).empty());
  write([](Transaction& tx) {
    for (const char* sn : {"PB", "PA", "PC"}) {
      tx.sync().put_desired(SyncKey{sn, "person", "7"}, std::string("v"), 10);
      tx.sync().put_desired(SyncKey{sn, "person", "70"}, std::string("v"), 10);  // a pin sharing the prefix
      tx.sync().put_desired(SyncKey{sn, "timerule", "7"}, std::string("r"), 10);  // the same key, another kind
    }
    // PA: 7 applied; PB: 7 failed and one command in flight with 70; PC: 7 applied then dropped.
    auto a = *tx.sync().item(SyncKey{"PA", "person", "7"});
    a.applied = a.desired;
    a.state = SyncState::applied;
    tx.sync().update(a);
    auto b = *tx.sync().item(SyncKey{"PB", "person", "7"});
    b.state = SyncState::failed;
    b.return_code = -12;
    b.error = "-12: refused";
    b.attempts = 2;
    b.retry_at = 99;
    tx.sync().update(b);
    tx.sync().link(41, {SyncKey{"PB", "person", "70"}});
    tx.sync().mark_sending(41, 11);
    tx.sync().count_commands("PB", 3);
    auto c = *tx.sync().item(SyncKey{"PC", "person", "7"});
    c.applied = c.desired;
    c.state = SyncState::applied;
    tx.sync().update(c);
    tx.sync().put_desired(SyncKey{"PC", "person", "7"}, std::nullopt, 12);
    // A panel only checked, with no items: known to the engine all the same.
    tx.sync().set_check("PD", 5, false, "holds 0 user(s)");
  });
  const auto all = read([](Reads& r) { return r.sync().panel_counts(); });
  ASSERT_EQ(all.size(), 4u);
  for (const auto& panel : all) {
    SCOPED_TRACE(panel.sn);
    const auto one = read([sn = panel.sn](Reads& r) { return r.sync().counts(sn); });
    EXPECT_EQ(panel.counts.pending, one.pending);
    EXPECT_EQ(panel.counts.applied, one.applied);
    EXPECT_EQ(panel.counts.failed, one.failed);
    EXPECT_EQ(panel.counts.commands, one.commands);
    EXPECT_EQ(panel.counts.in_flight, one.in_flight);
  }
  EXPECT_EQ(all[0].sn, "PA");
  EXPECT_EQ(all[0].counts.applied, 1);
  EXPECT_EQ(all[0].counts.pending, 2);
  EXPECT_EQ(all[1].sn, "PB");
  EXPECT_EQ(all[1].counts.failed, 1);
  EXPECT_EQ(all[1].counts.pending, 2);  // 70 sending, the time rule pending
  EXPECT_EQ(all[1].counts.commands, 3);
  EXPECT_EQ(all[1].counts.in_flight, 1);
  EXPECT_EQ(all[3].sn, "PD");
  EXPECT_EQ(all[3].counts.pending + all[3].counts.applied + all[3].counts.failed, 0);

  const auto items = read([](Reads& r) { return r.sync().items_on_panels("person", "7"); });
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, (SyncKey{"PA", "person", "7"}));
  EXPECT_EQ(items[0].state, SyncState::applied);
  EXPECT_EQ(items[1].id, (SyncKey{"PB", "person", "7"}));
  EXPECT_EQ(items[1].state, SyncState::failed);
  EXPECT_EQ(items[1].return_code, std::optional<std::int64_t>(-12));
  EXPECT_EQ(items[1].error, "-12: refused");
  EXPECT_EQ(items[1].attempts, 2);
  EXPECT_EQ(items[2].id, (SyncKey{"PC", "person", "7"}));
  EXPECT_FALSE(items[2].desired);  // to be dropped from PC
  EXPECT_TRUE(items[2].applied);
  EXPECT_EQ(items[2].state, SyncState::pending);
  EXPECT_TRUE(read([](Reads& r) { return r.sync().items_on_panels("person", "8"); }).empty());
  EXPECT_EQ(read([](Reads& r) { return r.sync().items_on_panels("timerule", "7"); }).size(), 3u);
}

// Pages of persons by pin, each whole; an update replaces cards and levels, and a refused one
// (a card of another person, the same card twice, a level that does not exist) changes nothing.
TEST_P(AccessContract, PersonsArePagedByPinAndAnUpdateReplacesTheirCardsAndLevels) {
  const auto l1 = write([](Transaction& tx) { return tx.access().insert_level(AccessLevel{0, "one", kAlwaysRule, {{"P", 1}}}); });
  const auto l2 = write([](Transaction& tx) { return tx.access().insert_level(AccessLevel{0, "two", kAlwaysRule, {{"P", 2}}}); });
  write([=](Transaction& tx) {
    tx.access().insert_person(make_person("30", {"300"}, {l2}));
    tx.access().insert_person(make_person("10", {"100", "101"}, {l2, l1}));
    tx.access().insert_person(make_person("20"));
    Credential c;
    c.type = "fingerprint";
    c.format = "templatev10";
    c.content = "A\"B\\C";  // survives the way back whatever it holds
    tx.access().put_credential("10", c);
  });
  auto page = read([](Reads& r) { return r.access().persons("", 2); });
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].pin, "10");
  EXPECT_EQ(page[0].cards, (std::vector<Card>{{"100", false}, {"101", false}}));
  EXPECT_EQ(page[0].levels, (std::vector<std::int64_t>{l1, l2}));
  ASSERT_EQ(page[0].credentials.size(), 1u);
  EXPECT_EQ(page[0].credentials[0].content, "A\"B\\C");
  EXPECT_EQ(page[1].pin, "20");
  EXPECT_TRUE(page[1].cards.empty());
  EXPECT_TRUE(page[1].levels.empty());
  EXPECT_EQ(page[0], *read([](Reads& r) { return r.access().person("10"); }));
  auto rest = read([](Reads& r) { return r.access().persons("20", 0); });
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].pin, "30");
  EXPECT_EQ(read([=](Reads& r) { return r.access().holders({l2, l1}); }), (std::vector<std::string>{"10", "30"}));
  EXPECT_TRUE(read([](Reads& r) { return r.access().holders({}); }).empty());

  // Cards in a new order, one given up (and free for another), one new; one level for the other.
  auto p = make_person("10", {"102", "100"}, {l1});
  p.cards[0].lost = true;
  write([p](Transaction& tx) { tx.access().update_person(p); });
  auto got = read([](Reads& r) { return r.access().person("10"); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cards, (std::vector<Card>{{"102", true}, {"100", false}}));
  EXPECT_EQ(got->levels, std::vector<std::int64_t>{l1});
  EXPECT_EQ(got->credentials.size(), 1u);  // an update leaves credentials alone
  write([](Transaction& tx) { tx.access().update_person(make_person("20", {"101"})); });
  EXPECT_EQ(read([](Reads& r) { return r.access().card_owner("101"); }), std::optional<std::string>("20"));

  EXPECT_EQ(refused([](Transaction& tx) { tx.access().update_person(make_person("10", {"103", "300"})); }), Reason::conflict);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().update_person(make_person("10", {"104", "104"})); }), Reason::conflict);
  EXPECT_EQ(refused([=](Transaction& tx) { tx.access().update_person(make_person("10", {"105"}, {l1, 999})); }),
            Reason::not_found);
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().insert_person(make_person("40", {"106", "106"})); }), Reason::conflict);
  EXPECT_EQ(read([](Reads& r) { return r.access().person("10"); }), got);
  EXPECT_FALSE(read([](Reads& r) { return r.access().card_owner("103"); }));
  EXPECT_FALSE(read([](Reads& r) { return r.access().person("40"); }));
}

// Levels keep their doors once each, by panel and door; a level needs a time rule that exists.
TEST_P(AccessContract, LevelsKeepTheirDoorsAndNeedAnExistingTimeRule) {
  EXPECT_EQ(refused([](Transaction& tx) { tx.access().insert_level(AccessLevel{0, "x", 77, {{"P", 1}}}); }), Reason::not_found);
  const auto id = write([](Transaction& tx) {
    return tx.access().insert_level(AccessLevel{0, "front", kAlwaysRule, {{"P2", 1}, {"P1", 2}, {"P2", 1}}});
  });
  auto level = read([id](Reads& r) { return r.access().level(id); });
  ASSERT_TRUE(level);
  EXPECT_EQ(level->doors, (std::vector<LevelDoor>{{"P1", 2}, {"P2", 1}}));
  const auto other = write([](Transaction& tx) { return tx.access().insert_level(AccessLevel{0, "back", kAlwaysRule, {}}); });
  level->doors = {{"P3", 4}};
  level->name = "front door";
  write([l = *level](Transaction& tx) { tx.access().update_level(l); });
  EXPECT_EQ(read([](Reads& r) { return r.access().levels(); }),
            (std::vector<AccessLevel>{{id, "front door", kAlwaysRule, {{"P3", 4}}}, {other, "back", kAlwaysRule, {}}}));
  EXPECT_TRUE(read([](Reads& r) { return r.access().levels_on("P1"); }).empty());
  EXPECT_EQ(read([](Reads& r) { return r.access().panels(); }), std::vector<std::string>{"P3"});
  auto bad = *level;
  bad.time_rule_id = 77;
  EXPECT_EQ(refused([bad](Transaction& tx) { tx.access().update_level(bad); }), Reason::not_found);
  bad = *level;
  bad.id = 999;
  EXPECT_EQ(refused([bad](Transaction& tx) { tx.access().update_level(bad); }), Reason::not_found);
  EXPECT_EQ(read([id](Reads& r) { return r.access().level(id); }), level);
}

// A door named twice in a zone keeps the direction named last; a direction must be one of three.
TEST_P(AccessContract, AZoneDoorNamedTwiceKeepsItsLastDirection) {
  const auto id = write([](Transaction& tx) {
    return tx.access().insert_apb_zone(ApbZone{0, "Lab", "logical", 0, {{"A", 1, "in"}, {"B", 2, "in"}, {"A", 1, "out"}}});
  });
  EXPECT_EQ(read([id](Reads& r) { return r.access().apb_zone(id); })->doors,
            (std::vector<ApbZoneDoor>{{"A", 1, "out"}, {"B", 2, "in"}}));
  EXPECT_EQ(refused([id](Transaction& tx) {
              tx.access().update_apb_zone(ApbZone{id, "Lab", "logical", 0, {{"A", 1, "in"}, {"A", 2, "sideways"}}});
            }),
            Reason::invalid);
  EXPECT_EQ(read([id](Reads& r) { return r.access().apb_zone(id); })->doors.size(), 2u);
}

// put_desired in each case an item can be in: absent, unchanged, failed, in flight, applied, and
// to be dropped.
TEST_P(AccessContract, ADesiredContentMovesAnItemByWhereItStands) {
  const SyncKey none{"P5", "person", "0"}, failed{"P5", "person", "1"}, sending{"P5", "person", "2"},
      held{"P5", "person", "3"}, fresh{"P5", "person", "4"}, dropped{"P5", "person", "5"};
  auto item = [this](const SyncKey& k) { return read([k](Reads& r) { return r.sync().item(k); }); };
  write([&](Transaction& tx) {
    tx.sync().put_desired(none, std::nullopt, 10);  // nothing wanted, nothing held: no item
    for (const auto& k : {failed, sending, held, fresh}) tx.sync().put_desired(k, std::string("v1"), 10);
    auto f = *tx.sync().item(failed);
    f.state = SyncState::failed;
    f.return_code = -12;
    f.error = "-12: refused";
    f.attempts = 3;
    f.retry_at = 500;
    f.batch = 2;
    tx.sync().update(f);
    auto s = *tx.sync().item(sending);
    s.state = SyncState::sending;
    s.sending = s.desired;
    s.error = "noted";
    s.attempts = 1;
    tx.sync().update(s);
    auto h = *tx.sync().item(held);
    h.applied = h.desired;
    h.state = SyncState::applied;
    tx.sync().update(h);
    tx.sync().put_desired(dropped, std::string("v1"), 10);
  });
  EXPECT_FALSE(item(none));
  write([&](Transaction& tx) { tx.sync().put_desired(fresh, std::string("v1"), 20); });  // unchanged
  EXPECT_EQ(item(fresh)->updated_at, 10);

  write([&](Transaction& tx) {
    for (const auto& k : {failed, sending}) tx.sync().put_desired(k, std::string("v2"), 30);
    tx.sync().put_desired(held, std::nullopt, 30);
    tx.sync().put_desired(dropped, std::nullopt, 30);
  });
  auto f = item(failed);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->state, SyncState::pending);  // a new attempt: the old failure forgotten
  EXPECT_EQ(f->desired, std::optional<std::string>("v2"));
  EXPECT_FALSE(f->return_code);
  EXPECT_EQ(f->error, "");
  EXPECT_EQ(f->attempts, 0);
  EXPECT_EQ(f->retry_at, 0);
  EXPECT_EQ(f->batch, 2);
  EXPECT_EQ(f->updated_at, 30);
  auto s = item(sending);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, SyncState::sending);  // the answer decides
  EXPECT_EQ(s->desired, std::optional<std::string>("v2"));
  EXPECT_EQ(s->sending, std::optional<std::string>("v1"));
  EXPECT_EQ(s->error, "noted");
  EXPECT_EQ(s->attempts, 1);
  auto h = item(held);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->state, SyncState::pending);  // to be deleted from the panel
  EXPECT_FALSE(h->desired);
  EXPECT_FALSE(item(dropped));  // never held: no longer tracked

  write([&](Transaction& tx) { tx.sync().put_desired(held, std::string("v1"), 40); });
  EXPECT_EQ(item(held)->state, SyncState::applied);  // wanted again what it holds
  write([&](Transaction& tx) { tx.sync().put_desired(sending, std::nullopt, 50); });
  EXPECT_EQ(item(sending)->state, SyncState::sending);  // in flight: kept until the answer
}

// Forgetting what a panel holds: items wanting nothing go (unless in flight), the others are pending
// again, in flight ones stay sending; a replaced panel's items move to the new one, nothing in flight.
TEST_P(AccessContract, APanelsItemsAreForgottenAndMovedWithAReplacedPanel) {
  const SyncKey held{"P6", "person", "1"}, dropping{"P6", "person", "2"}, sending{"P6", "person", "3"},
      sending_drop{"P6", "person", "4"};
  auto setup = [&](Transaction& tx) {
    for (const auto& k : {held, dropping, sending, sending_drop}) {
      tx.sync().put_desired(k, std::string("v"), 10);
      auto i = *tx.sync().item(k);
      i.applied = i.desired;
      i.state = SyncState::applied;
      tx.sync().update(i);
    }
    tx.sync().put_desired(dropping, std::nullopt, 11);
    tx.sync().put_desired(sending, std::string("w"), 11);
    tx.sync().put_desired(sending_drop, std::nullopt, 11);
    tx.sync().link(9, {sending, sending_drop});
    tx.sync().mark_sending(9, 12);
  };
  write(setup);
  write([](Transaction& tx) { tx.sync().forget_applied("P6", 20); });
  auto items = read([](Reads& r) { return r.sync().items("P6", ""); });
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, held);
  EXPECT_EQ(items[0].state, SyncState::pending);
  EXPECT_FALSE(items[0].applied);
  EXPECT_EQ(items[0].updated_at, 20);
  EXPECT_EQ(items[1].id, sending);
  EXPECT_EQ(items[1].state, SyncState::sending);
  EXPECT_EQ(items[2].id, sending_drop);
  EXPECT_EQ(items[2].state, SyncState::sending);
  EXPECT_FALSE(items[2].applied);

  write([](Transaction& tx) {
    tx.sync().put_desired(SyncKey{"P7", "person", "9"}, std::string("x"), 30);
    tx.sync().set_unmanaged("P7", "user", {"77"});
    tx.sync().move_panel("P6", "P7", 31);
  });
  EXPECT_TRUE(read([](Reads& r) { return r.sync().items("P6", ""); }).empty());
  EXPECT_FALSE(read([](Reads& r) { return r.sync().in_flight("P6"); }));
  EXPECT_TRUE(read([](Reads& r) { return r.sync().unmanaged("P7"); }).empty());
  items = read([](Reads& r) { return r.sync().items("P7", ""); });
  ASSERT_EQ(items.size(), 2u);  // the new panel's own item gone, the one in flight to drop gone
  EXPECT_EQ(items[0].id, (SyncKey{"P7", "person", "1"}));
  EXPECT_EQ(items[0].state, SyncState::pending);
  EXPECT_EQ(items[1].id, (SyncKey{"P7", "person", "3"}));
  EXPECT_EQ(items[1].state, SyncState::pending);
  EXPECT_FALSE(items[1].sending);
  EXPECT_EQ(read([](Reads& r) { return r.sync().due_panels(); }),
            (std::vector<std::pair<std::string, std::int64_t>>{{"P7", 0}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
