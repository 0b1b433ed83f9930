// The sync engine's pure parts (service/sync.hpp): a person's content on a panel, the commands
// that take a panel from applied to desired (order, packing, splitting), and a panel's
// capabilities from its registration. No store, no socket.
#include "service/sync.hpp"

#include <gtest/gtest.h>

namespace zkpush::service {
namespace {

namespace p = protocol;
using storage::SyncItem;
using storage::SyncKey;

storage::AccessLevel level_with(std::int64_t id, std::int64_t rule, std::vector<storage::LevelDoor> doors) {
  return storage::AccessLevel{id, "L" + std::to_string(id), rule, std::move(doors)};
}

storage::Person person_with(const std::string& pin, std::vector<std::int64_t> levels, std::vector<std::string> cards = {}) {
  storage::Person person;
  person.pin = pin;
  person.name = "P" + pin;
  person.levels = std::move(levels);
  for (auto& c : cards) person.cards.push_back(storage::Card{c, false});
  return person;
}

SyncItem item(const std::string& kind, const std::string& key, std::optional<std::string> applied,
              std::optional<std::string> desired) {
  SyncItem i;
  i.id = SyncKey{"P1", kind, key};
  i.applied = std::move(applied);
  i.desired = std::move(desired);
  return i;
}

std::string table_of(const PlannedCommand& c) {
  if (const auto* u = std::get_if<p::DataUpdate>(&c.command.body)) return "update " + u->table;
  if (const auto* d = std::get_if<p::DataDelete>(&c.command.body)) return "delete " + d->table;
  return "?";
}

TEST(SyncContent, APersonIsOnAPanelOnlyThroughALevelWithADoorThere) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}, {"P2", 1}}),
                                                 level_with(2, 5, {{"P1", 2}, {"P1", 3}})};
  EXPECT_FALSE(person_content(person_with("9", {}), levels, "P1"));
  EXPECT_FALSE(person_content(person_with("9", {3}), levels, "P1"));
  auto both = person_content(person_with("9", {1, 2}, {"123"}), levels, "P1");
  ASSERT_TRUE(both);
  EXPECT_NE(both->find(R"("auth":[[1,[1]],[5,[2,3]]])"), std::string::npos) << *both;
  EXPECT_NE(both->find(R"("cards":[["123",false]])"), std::string::npos) << *both;
  auto other = person_content(person_with("9", {1, 2}), levels, "P2");
  ASSERT_TRUE(other);
  EXPECT_NE(other->find(R"("auth":[[1,[1]]])"), std::string::npos) << *other;
  // Disabled: still on the panel, authorised for no door.
  auto disabled = person_with("9", {1});
  disabled.disabled = true;
  auto content = person_content(disabled, levels, "P1");
  ASSERT_TRUE(content);
  EXPECT_NE(content->find(R"("auth":[])"), std::string::npos) << *content;
}

TEST(SyncPlan, RulesFirstDeletesBeforeAddsUsersBeforeTheirRowsRuleDeletesLast) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}}), level_with(2, 2, {{"P1", 2}})};
  const auto a = person_content(person_with("1", {1}, {"11"}), levels, "P1");
  const auto a2 = person_content(person_with("1", {2}, {"11"}), levels, "P1");
  const auto b = person_content(person_with("2", {1}, {"22"}), levels, "P1");
  storage::TimeRule rule;
  rule.id = 2;
  rule.days[1] = {storage::Period{480, 1080}};
  const std::vector<SyncItem> items{item("person", "1", a, a2), item("person", "2", b, std::nullopt),
                                    item("person", "3", std::nullopt, b), item("timerule", "2", std::nullopt, rule_content(rule)),
                                    item("timerule", "9", rule_content(rule), std::nullopt)};
  auto plan = plan_commands(items, PanelCaps{}, SyncOptions{});
  EXPECT_TRUE(plan.invalid.empty()) << (plan.invalid.empty() ? "" : plan.invalid[0].second);
  std::vector<std::string> order;
  for (const auto& c : plan.commands) order.push_back(table_of(c));
  // Person 2 leaves before person 3 is added: a full panel makes room first.
  EXPECT_EQ(order, (std::vector<std::string>{"update timezone", "delete userauthorize", "delete userauthorize",
                                             "delete user", "update user", "update userauthorize", "delete timezone"}));
  // Person 1 kept its user row (only its level changed): the user update carries person 3 only.
  const auto& user_update = std::get<p::DataUpdate>(plan.commands[4].command.body);
  ASSERT_EQ(user_update.records.size(), 1u);
  EXPECT_EQ(user_update.records[0].get_or("Pin", ""), "3");
  EXPECT_EQ(user_update.records[0].get_or("CardNo", ""), "22");
  const auto& rule_update = std::get<p::DataUpdate>(plan.commands[0].command.body);
  EXPECT_EQ(rule_update.records[0].get_or("MonTime1", ""), std::to_string((800u << 16) | 1800u));
  EXPECT_EQ(rule_update.records[0].get_or("SunTime1", ""), "0");
}

TEST(SyncPlan, RecordsArePackedWithinTheLimitsAndSplitAfterAFailure) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}})};
  std::vector<SyncItem> items;
  for (int i = 1; i <= 250; ++i) {
    items.push_back(item("person", std::to_string(i), std::nullopt,
                         person_content(person_with(std::to_string(i), {1}), levels, "P1")));
  }
  auto plan = plan_commands(items, PanelCaps{}, SyncOptions{});
  std::map<std::string, std::vector<std::size_t>> sizes;
  for (const auto& c : plan.commands)
    sizes[table_of(c)].push_back(std::get<p::DataUpdate>(c.command.body).records.size());
  EXPECT_EQ(sizes["update user"], (std::vector<std::size_t>{100, 100, 50}));
  EXPECT_EQ(sizes["update userauthorize"], (std::vector<std::size_t>{100, 100, 50}));

  SyncOptions small;
  small.bytes_per_command = 200;
  for (const auto& c : plan_commands(items, PanelCaps{}, small).commands)
    EXPECT_LE(p::format_command(c.command).size(), 200u + 80u);  // one record may pass the limit alone

  // Items of a command that failed go at most `batch` per command, after the others.
  for (int i = 0; i < 10; ++i) items[static_cast<std::size_t>(i)].batch = 4;
  std::vector<std::size_t> user_sizes;
  for (const auto& c : plan_commands(items, PanelCaps{}, SyncOptions{}).commands)
    if (table_of(c) == "update user") user_sizes.push_back(std::get<p::DataUpdate>(c.command.body).records.size());
  EXPECT_EQ(user_sizes, (std::vector<std::size_t>{100, 100, 40, 4, 4, 2}));
}

TEST(SyncPlan, MultiCardPanelsGetTheirCardsInMulCardUser) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}})};
  const auto before = person_content(person_with("1", {1}, {"11"}), levels, "P1");
  const auto after = person_content(person_with("1", {1}, {"11", "12"}), levels, "P1");
  PanelCaps caps;
  caps.multi_card = true;
  auto plan = plan_commands({item("person", "1", before, after)}, caps, SyncOptions{});
  std::vector<std::string> order;
  for (const auto& c : plan.commands) order.push_back(table_of(c));
  EXPECT_EQ(order, (std::vector<std::string>{"delete mulcarduser", "update mulcarduser"}));
  const auto& cards = std::get<p::DataUpdate>(plan.commands[1].command.body).records;
  ASSERT_EQ(cards.size(), 2u);
  EXPECT_EQ(cards[0].get_or("CardType", ""), "0");
  EXPECT_EQ(cards[1].get_or("CardType", ""), "1");
}

TEST(SyncPlan, ARecordTheProtocolCannotCarryFailsItsItemOnly) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}})};
  auto bad = person_with("1", {1});
  bad.name = "line\nbreak";
  auto plan = plan_commands({item("person", "1", std::nullopt, person_content(bad, levels, "P1")),
                             item("person", "2", std::nullopt, person_content(person_with("2", {1}), levels, "P1"))},
                            PanelCaps{}, SyncOptions{});
  ASSERT_EQ(plan.invalid.size(), 1u);
  EXPECT_EQ(plan.invalid[0].first.key, "1");
  for (const auto& c : plan.commands)
    for (const auto& k : c.items) EXPECT_EQ(k.key, "2");
}

TEST(SyncCaps, FromTheRegistration) {
  auto caps = panel_caps(p::Record{{"AccSupportFunList", "0000000100000001000000000010"}, {"DateFmtFunOn", "1"},
                                   {"MaxPackageSize", "2048000"}});
  EXPECT_TRUE(caps.multi_card);
  EXPECT_TRUE(caps.one_door);
  EXPECT_TRUE(caps.date_zktime);
  EXPECT_EQ(caps.max_package, 2048000u);
  auto none = panel_caps(p::Record{});
  EXPECT_FALSE(none.multi_card || none.one_door || none.date_zktime);
}

}  // namespace
TEST(SyncPlan, HolidaysAddedGoAloneARowGoneMeansAllAgain) {
  storage::Holiday xmas{1, "Christmas", "2026-12-24", "2026-12-26", 2, true};
  storage::Holiday audit{2, "Audit", "2027-03-01", "2027-03-01", 1, false};
  EXPECT_EQ(holiday_dates(xmas), (std::vector<std::string>{"20261224", "20261225", "20261226"}));
  EXPECT_EQ(holiday_dates(storage::Holiday{3, "Leap", "2028-02-28", "2028-03-01", 1, false}),
            (std::vector<std::string>{"20280228", "20280229", "20280301"}));
  const auto one = holidays_content({xmas});
  const auto both = holidays_content({xmas, audit});
  // Added: only the new row.
  auto plan = plan_commands({item("holidays", "all", one, both)}, PanelCaps{}, SyncOptions{});
  ASSERT_EQ(plan.commands.size(), 1u);
  const auto& added = std::get<p::DataUpdate>(plan.commands[0].command.body);
  ASSERT_EQ(added.records.size(), 1u);
  EXPECT_EQ(p::format_tab_record(added.records[0]), "Holiday=20270301\tHolidayType=1\tLoop=2");
  // A row gone: all deleted (the manual's only holiday delete), then all that remain.
  xmas.end = "2026-12-25";
  plan = plan_commands({item("holidays", "all", both, holidays_content({xmas, audit}))}, PanelCaps{}, SyncOptions{});
  ASSERT_EQ(plan.commands.size(), 2u);
  EXPECT_EQ(table_of(plan.commands[0]), "delete holiday");
  EXPECT_TRUE(std::get<p::DataDelete>(plan.commands[0].command.body).all);
  EXPECT_EQ(std::get<p::DataUpdate>(plan.commands[1].command.body).records.size(), 3u);
  // The panel leaves the domain: what we sent goes.
  plan = plan_commands({item("holidays", "all", both, std::nullopt)}, PanelCaps{}, SyncOptions{});
  ASSERT_EQ(plan.commands.size(), 1u);
  EXPECT_EQ(table_of(plan.commands[0]), "delete holiday");
}

TEST(SyncCheck, UsersAPanelHoldsAreComparedWithWhatItIsKnownToHold) {
  auto applied = [](const std::string& pin) { return item("person", pin, std::string("x"), std::string("x")); };
  // A joining panel: nothing applied yet, its own users unmanaged, the domain's to come are not.
  auto f = compare_users({"1", "900"}, {item("person", "1", std::nullopt, std::string("x"))});
  EXPECT_EQ(f.unmanaged, std::vector<std::string>{"900"});
  EXPECT_TRUE(f.lost.empty());
  EXPECT_FALSE(f.reset);
  // One lost of four: sent again, no reset.
  f = compare_users({"1", "2", "3"}, {applied("1"), applied("2"), applied("3"), applied("4")});
  EXPECT_EQ(f.lost, std::vector<std::string>{"4"});
  EXPECT_FALSE(f.reset);
  // Three lost of four: a reset panel, full load.
  f = compare_users({"1"}, {applied("1"), applied("2"), applied("3"), applied("4")});
  EXPECT_EQ(f.lost.size(), 3u);
  EXPECT_TRUE(f.reset);
  EXPECT_NE(f.summary.find("full load"), std::string::npos);
}

}  // namespace zkpush::service

namespace zkpush::service {
namespace {

storage::Credential credential_with(std::int64_t id, int bio_type, int no, std::string format, std::string version) {
  storage::Credential c;
  c.id = id;
  c.bio_type = bio_type;
  c.no = no;
  c.format = std::move(format);
  c.version = std::move(version);
  c.content = "QUJD" + std::to_string(id);
  return c;
}

TEST(SyncCaps, CredentialsGoWhereThePanelCanHoldThem) {
  const auto speedface = panel_caps(protocol::Record{{"FingerFunOn", "1"},
                                                     {"MultiBioDataSupport", "0:1:0:0:0:0:0:0:1:1"},
                                                     {"MultiBioPhotoSupport", "0:0:0:0:0:0:0:0:0:1"},
                                                     {"MultiBioVersion", "0:10:0:0:0:0:0:0:1:40"}});
  const auto inbio = panel_caps(protocol::Record{{"FingerFunOn", "1"}});
  const auto c3 = panel_caps(protocol::Record{});
  const auto finger = credential_with(1, 1, 3, "templatev10", "10.0");
  EXPECT_EQ(credential_table(finger, speedface), "biodata");
  EXPECT_EQ(credential_table(finger, inbio), "templatev10");
  EXPECT_EQ(credential_table(finger, c3), "");
  const auto face = credential_with(2, 9, 0, "biodata", "40.1");
  EXPECT_EQ(credential_table(face, speedface), "biodata");
  EXPECT_EQ(credential_table(face, inbio), "");
  // A face of another algorithm cannot be read there; its photo can.
  EXPECT_EQ(credential_table(credential_with(3, 9, 0, "biodata", "39.0"), speedface), "");
  EXPECT_EQ(credential_table(credential_with(4, 9, 0, "biophoto", ""), speedface), "biophoto");
  EXPECT_EQ(credential_table(credential_with(5, 0, 0, "userpic", ""), speedface), "");
  EXPECT_EQ(credential_table(credential_with(6, 1, 0, "biodata", "12.0"), inbio), "");
}

TEST(SyncPlan, CredentialsFollowTheirUserAndGoBeforeTheyLeave) {
  const std::vector<storage::AccessLevel> levels{level_with(1, 1, {{"P1", 1}})};
  auto person = person_with("7", {1}, {"77"});
  person.credentials = {credential_with(10, 1, 3, "templatev10", "10.0"), credential_with(11, 9, 0, "biodata", "40.1")};
  const auto with = person_content(person, levels, "P1");
  ASSERT_TRUE(with);
  PanelCaps caps;
  caps.fingerprint_v10 = true;
  caps.bio_data[9] = true;
  caps.bio_version[9] = 40;
  const CredentialContents contents{{10, "FINGER"}, {11, "FACE"}};
  auto plan = plan_commands({item("person", "7", std::nullopt, with)}, caps, SyncOptions{}, contents);
  ASSERT_TRUE(plan.invalid.empty()) << plan.invalid[0].second;
  std::vector<std::string> order;
  for (const auto& c : plan.commands) order.push_back(table_of(c));
  EXPECT_EQ(order, (std::vector<std::string>{"update user", "update biodata", "update templatev10", "update userauthorize"}));
  const auto& face = std::get<p::DataUpdate>(plan.commands[1].command.body).records.at(0);
  EXPECT_EQ(face.get_or("Type", ""), "9");
  EXPECT_EQ(face.get_or("MajorVer", ""), "40");
  EXPECT_EQ(face.get_or("MinorVer", ""), "1");
  EXPECT_EQ(face.get_or("Tmp", ""), "FACE");
  const auto& finger = std::get<p::DataUpdate>(plan.commands[2].command.body).records.at(0);
  EXPECT_EQ(finger.get_or("FingerID", ""), "3");
  EXPECT_EQ(finger.get_or("Template", ""), "FINGER");

  // Unchanged: nothing. The face removed: its instance deleted, nothing else.
  EXPECT_TRUE(plan_commands({item("person", "7", with, with)}, caps, SyncOptions{}, contents).commands.empty());
  auto fewer = person;
  fewer.credentials.pop_back();
  auto removed = plan_commands({item("person", "7", with, person_content(fewer, levels, "P1"))}, caps, SyncOptions{}, contents);
  ASSERT_EQ(removed.commands.size(), 1u);
  const auto& del = std::get<p::DataDelete>(removed.commands[0].command.body);
  EXPECT_EQ(del.table, "biodata");
  EXPECT_EQ(p::format_command(removed.commands[0].command).find("Type=9\tPin=7\tNo=0") != std::string::npos, true)
      << p::format_command(removed.commands[0].command);

  // The person leaves: credentials deleted before the user row.
  auto gone = plan_commands({item("person", "7", with, std::nullopt)}, caps, SyncOptions{}, contents);
  order.clear();
  for (const auto& c : gone.commands) order.push_back(table_of(c));
  EXPECT_EQ(order, (std::vector<std::string>{"delete userauthorize", "delete biodata", "delete templatev10", "delete user"}));

  // A template whose content cannot be read fails its person, not the panel.
  auto unread = plan_commands({item("person", "7", std::nullopt, with)}, caps, SyncOptions{}, {{10, "FINGER"}});
  ASSERT_EQ(unread.invalid.size(), 1u);
  EXPECT_EQ(unread.invalid[0].first.key, "7");
}

}  // namespace
}  // namespace zkpush::service
