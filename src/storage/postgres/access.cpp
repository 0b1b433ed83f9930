#include "storage/postgres/access.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace {

using Reason = StoreError::Reason;

// A JSON array the server aggregated (json_agg), or NULL for no rows. What a person, a level or a zone
// holds in other tables comes back with it in one statement this way: each statement is a round
// trip to the server, and a page of persons would otherwise cost three more per person.
nlohmann::json access_json_rows(const Statement& st, int column) {
  if (st.is_null(column)) return nlohmann::json::array();
  auto j = nlohmann::json::parse(st.column_text(column));
  if (!j.is_array()) throw std::runtime_error("access: an aggregate that is not a JSON array");
  return j;
}

// The person's columns, then its cards, levels and credentials as JSON arrays, each in the order
// Person keeps them.
std::string select_persons(std::string_view where) {
  return "SELECT p.pin, p.name, p.password, p.privilege, p.grp, p.valid_from, p.valid_until, p.disabled, "
         "p.enrolled_at, p.created_at, p.updated_at, "
         "(SELECT json_agg(json_build_array(c.number, c.lost) ORDER BY c.position, c.number) FROM cards c "
         "WHERE c.pin = p.pin), "
         "(SELECT json_agg(l.level_id ORDER BY l.level_id) FROM person_levels l WHERE l.pin = p.pin), "
         "(SELECT json_agg(json_build_array(k.id, k.type, k.no, k.idx, k.duress, k.format, k.version, k.content, "
         "k.enrolled_at, k.created_at, k.bio_type) ORDER BY k.bio_type, k.no, k.idx, k.format) FROM credentials k "
         "WHERE k.pin = p.pin) "
         "FROM persons p " +
         std::string(where);
}

Person read_person(const Statement& st) {
  Person p = rows::read_person(st);
  for (const auto& c : access_json_rows(st, 11))
    p.cards.push_back(Card{c.at(0).get<std::string>(), c.at(1).get<std::int64_t>() != 0});
  for (const auto& l : access_json_rows(st, 12)) p.levels.push_back(l.get<std::int64_t>());
  for (const auto& k : access_json_rows(st, 13)) {
    Credential c;
    c.id = k.at(0).get<std::int64_t>();
    c.type = k.at(1).get<std::string>();
    c.no = k.at(2).get<int>();
    c.index = k.at(3).get<int>();
    c.duress = k.at(4).get<std::int64_t>() != 0;
    c.format = k.at(5).get<std::string>();
    c.version = k.at(6).get<std::string>();
    c.content = k.at(7).get<std::string>();
    c.enrolled_at = k.at(8).get<std::string>();
    c.created_at = k.at(9).get<std::int64_t>();
    c.bio_type = k.at(10).get<int>();
    p.credentials.push_back(std::move(c));
  }
  return p;
}

}  // namespace

// ---- persons -------------------------------------------------------------------------------------

std::optional<Person> Access::person(const std::string& pin) {
  auto st = c_.prepare(select_persons("WHERE p.pin = $1"));
  st.bind(1, pin);
  if (!st.step()) return std::nullopt;
  return read_person(st);
}

std::vector<Person> Access::persons(const std::string& after_pin, std::int64_t limit) {
  std::vector<Person> out;
  // LIMIT NULL is no limit.
  auto st = c_.prepare(select_persons("WHERE p.pin > $1 ORDER BY p.pin LIMIT $2"));
  st.bind(1, after_pin);
  if (limit > 0) st.bind(2, limit);
  else st.bind_null(2);
  while (st.step()) out.push_back(read_person(st));
  return out;
}

std::int64_t Access::person_count() {
  auto st = c_.prepare("SELECT count(*) FROM persons");
  st.step();
  return st.column_int(0);
}

std::optional<std::string> Access::card_owner(const std::string& number) {
  auto st = c_.prepare("SELECT pin FROM cards WHERE number = $1");
  st.bind(1, number);
  if (!st.step()) return std::nullopt;
  return st.column_text(0);
}

std::vector<std::string> Access::holders(const std::vector<std::int64_t>& levels) {
  std::vector<std::string> out;
  if (levels.empty()) return out;
  auto st = c_.prepare("SELECT DISTINCT pin FROM person_levels WHERE level_id = ANY($1) ORDER BY pin");
  st.bind(1, levels);
  while (st.step()) out.push_back(st.column_text(0));
  return out;
}

// The person's cards and levels, written whole: one statement each (the person's old ones are gone
// already). What is refused is found after the fact, on the rare path: the store rolls the unit of
// work back to its savepoint on a Refused, rows already written included.
void Access::write_links(const Person& p) {
  if (!p.cards.empty()) {
    std::vector<std::string> numbers;
    std::vector<std::int64_t> lost;
    std::set<std::string> seen;
    for (const auto& card : p.cards) {
      // A number twice in the list: the second finds the first one's row, as one card insert after the other would.
      if (!seen.insert(card.number).second)
        throw Refused(Reason::conflict, "card " + card.number + " belongs to person " + p.pin);
      numbers.push_back(card.number);
      lost.push_back(card.lost ? 1 : 0);
    }
    auto st = c_.prepare(
        "INSERT INTO cards (number, pin, lost, position) SELECT t.number, $2, t.lost, t.position - 1 "
        "FROM unnest($1::text[], $3::bigint[]) WITH ORDINALITY AS t(number, lost, position) "
        "ON CONFLICT (number) DO NOTHING");
    st.bind(1, numbers).bind(2, p.pin).bind(3, lost);
    st.run();
    if (c_.changes() < static_cast<std::int64_t>(numbers.size())) {
      // Some number is another person's: name the first in the person's order.
      std::map<std::string, std::string> owners;
      auto owner = c_.prepare("SELECT number, pin FROM cards WHERE number = ANY($1) AND pin <> $2");
      owner.bind(1, numbers).bind(2, p.pin);
      while (owner.step()) owners.emplace(owner.column_text(0), owner.column_text(1));
      for (const auto& n : numbers)
        if (auto it = owners.find(n); it != owners.end())
          throw Refused(Reason::conflict, "card " + n + " belongs to person " + it->second);
      throw Refused(Reason::conflict, "a card of person " + p.pin + " belongs to another person");
    }
  }
  if (!p.levels.empty()) {
    // Only levels that exist are linked; one missing leaves fewer rows than asked for.
    auto st = c_.prepare(
        "INSERT INTO person_levels (pin, level_id) SELECT $1, id FROM access_levels WHERE id = ANY($2)");
    st.bind(1, p.pin).bind(2, p.levels);
    st.run();
    const std::set<std::int64_t> wanted(p.levels.begin(), p.levels.end());
    if (c_.changes() < static_cast<std::int64_t>(wanted.size())) {
      std::set<std::int64_t> found;
      auto exists = c_.prepare("SELECT id FROM access_levels WHERE id = ANY($1)");
      exists.bind(1, p.levels);
      while (exists.step()) found.insert(exists.column_int(0));
      for (auto id : p.levels)
        if (!found.count(id)) throw Refused(Reason::not_found, "no access level " + std::to_string(id));
    }
  }
}

void Access::insert_person(const Person& p) {
  if (p.pin.empty()) throw Refused(Reason::invalid, "a person needs a pin");
  auto st = c_.prepare(
      "INSERT INTO persons (pin, name, password, privilege, grp, valid_from, valid_until, disabled, enrolled_at, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (pin) DO NOTHING");
  st.bind(1, p.pin).bind(2, p.name).bind(3, p.password).bind(4, p.privilege).bind(5, p.group).bind(6, p.valid_from);
  st.bind(7, p.valid_until).bind(8, p.disabled ? 1 : 0).bind(9, p.enrolled_at).bind(10, p.created_at).bind(11, p.updated_at);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::conflict, "a person with pin " + p.pin + " exists");
  write_links(p);  // a new person has no cards or levels yet
}

void Access::update_person(const Person& p) {
  // The old cards and levels go in the same statement (the count is the UPDATE's); for an unknown
  // pin there are none to delete.
  auto st = c_.prepare(
      "WITH old_cards AS (DELETE FROM cards WHERE pin = $1), old_levels AS (DELETE FROM person_levels WHERE pin = $1) "
      "UPDATE persons SET name = $2, password = $3, privilege = $4, grp = $5, valid_from = $6, valid_until = $7, "
      "disabled = $8, enrolled_at = $9, updated_at = $10 WHERE pin = $1");
  st.bind(1, p.pin).bind(2, p.name).bind(3, p.password).bind(4, p.privilege).bind(5, p.group).bind(6, p.valid_from);
  st.bind(7, p.valid_until).bind(8, p.disabled ? 1 : 0).bind(9, p.enrolled_at).bind(10, p.updated_at);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no person with pin " + p.pin);
  write_links(p);
}

void Access::delete_person(const std::string& pin) {
  auto st = c_.prepare("DELETE FROM persons WHERE pin = $1");
  st.bind(1, pin);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no person with pin " + pin);
}

std::int64_t Access::put_credential(const std::string& pin, const Credential& c) {
  // Inserted only for a known person (no row returned otherwise) rather than left to the foreign key,
  // whose error would abort the transaction.
  auto st = c_.prepare(
      "INSERT INTO credentials (pin, type, no, idx, duress, format, version, content, enrolled_at, created_at, bio_type) "
      "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM persons WHERE pin = $1) "
      "ON CONFLICT (pin, bio_type, no, idx, format) DO UPDATE SET "
      "type = excluded.type, duress = excluded.duress, version = excluded.version, content = excluded.content, "
      "enrolled_at = excluded.enrolled_at, created_at = excluded.created_at RETURNING id");
  st.bind(1, pin).bind(2, c.type).bind(3, c.no).bind(4, c.index).bind(5, c.duress ? 1 : 0).bind(6, c.format);
  st.bind(7, c.version).bind(8, c.content).bind(9, c.enrolled_at).bind(10, c.created_at).bind(11, std::int64_t{c.bio_type});
  if (!st.step()) throw Refused(Reason::not_found, "no person with pin " + pin);
  return st.column_int(0);
}

void Access::delete_credential(const std::string& pin, std::int64_t id) {
  auto st = c_.prepare("DELETE FROM credentials WHERE pin = $1 AND id = $2");
  st.bind(1, pin).bind(2, id);
  st.run();
  if (c_.changes() == 0)
    throw Refused(Reason::not_found, "no credential " + std::to_string(id) + " of person " + pin);
}

// ---- holidays ---------------------------------------------------------------------------------------

namespace {
constexpr std::string_view kHolidayColumns = "id, name, start_date, end_date, type, yearly";
}  // namespace

std::optional<Holiday> Access::holiday(std::int64_t id) {
  auto st = c_.prepare("SELECT " + std::string(kHolidayColumns) + " FROM holidays WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_holiday(st);
}

std::vector<Holiday> Access::holidays() {
  std::vector<Holiday> out;
  auto st = c_.prepare("SELECT " + std::string(kHolidayColumns) + " FROM holidays ORDER BY id");
  while (st.step()) out.push_back(rows::read_holiday(st));
  return out;
}

std::int64_t Access::insert_holiday(const Holiday& h) {
  auto st = c_.prepare("INSERT INTO holidays (name, start_date, end_date, type, yearly) VALUES ($1, $2, $3, $4, $5) RETURNING id");
  st.bind(1, h.name).bind(2, h.start).bind(3, h.end).bind(4, std::int64_t{h.type}).bind(5, std::int64_t{h.yearly ? 1 : 0});
  st.step();
  return st.column_int(0);
}

void Access::update_holiday(const Holiday& h) {
  auto st = c_.prepare(
      "UPDATE holidays SET name = $2, start_date = $3, end_date = $4, type = $5, yearly = $6 WHERE id = $1");
  st.bind(1, h.id).bind(2, h.name).bind(3, h.start).bind(4, h.end).bind(5, std::int64_t{h.type});
  st.bind(6, std::int64_t{h.yearly ? 1 : 0});
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no holiday " + std::to_string(h.id));
}

void Access::delete_holiday(std::int64_t id) {
  auto st = c_.prepare("DELETE FROM holidays WHERE id = $1");
  st.bind(1, id);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no holiday " + std::to_string(id));
}

// ---- time rules ------------------------------------------------------------------------------------

std::optional<TimeRule> Access::time_rule(std::int64_t id) {
  auto st = c_.prepare("SELECT id, name, segments FROM time_rules WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_rule(st);
}

std::vector<TimeRule> Access::time_rules() {
  std::vector<TimeRule> out;
  auto st = c_.prepare("SELECT id, name, segments FROM time_rules ORDER BY id");
  while (st.step()) out.push_back(rows::read_rule(st));
  return out;
}

std::int64_t Access::insert_time_rule(const TimeRule& rule) {
  auto st = c_.prepare("INSERT INTO time_rules (name, segments) VALUES ($1, $2) RETURNING id");
  st.bind(1, rule.name).bind(2, rows::segments_json(rule));
  st.step();
  return st.column_int(0);
}

void Access::update_time_rule(const TimeRule& rule) {
  auto st = c_.prepare("UPDATE time_rules SET name = $2, segments = $3 WHERE id = $1");
  st.bind(1, rule.id).bind(2, rule.name).bind(3, rows::segments_json(rule));
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no time rule " + std::to_string(rule.id));
}

void Access::delete_time_rule(std::int64_t id) {
  if (id == kAlwaysRule) throw Refused(Reason::conflict, "time rule 1 (always) cannot be deleted");
  {
    // Checked first rather than left to the foreign key, whose error would abort the transaction.
    // (Assumes this node is the only writer: a level another one adds meanwhile fails the DELETE.)
    auto st = c_.prepare("SELECT id FROM access_levels WHERE time_rule_id = $1 ORDER BY id LIMIT 1");
    st.bind(1, id);
    if (st.step())
      throw Refused(Reason::conflict, "time rule " + std::to_string(id) + " is used by access level " +
                                          std::to_string(st.column_int(0)));
  }
  auto st = c_.prepare("DELETE FROM time_rules WHERE id = $1");
  st.bind(1, id);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no time rule " + std::to_string(id));
}

// ---- access levels -----------------------------------------------------------------------------------

namespace {
// A level's columns and its doors (a JSON array of [sn, door], by sn and door).
std::string select_levels(std::string_view where) {
  return "SELECT a.id, a.name, a.time_rule_id, (SELECT json_agg(json_build_array(d.sn, d.door) ORDER BY d.sn, d.door) "
         "FROM level_doors d WHERE d.level_id = a.id) FROM access_levels a " +
         std::string(where);
}
}  // namespace

std::vector<AccessLevel> Access::read_levels(std::string_view sql, const std::string* sn) {
  std::vector<AccessLevel> out;
  auto st = c_.prepare(sql);
  if (sn) st.bind(1, *sn);
  while (st.step()) {
    AccessLevel level{st.column_int(0), st.column_text(1), st.column_int(2), {}};
    for (const auto& d : access_json_rows(st, 3))
      level.doors.push_back(LevelDoor{d.at(0).get<std::string>(), d.at(1).get<int>()});
    out.push_back(std::move(level));
  }
  return out;
}

std::optional<AccessLevel> Access::level(std::int64_t id) {
  auto st = c_.prepare(select_levels("WHERE a.id = $1"));
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  AccessLevel level{st.column_int(0), st.column_text(1), st.column_int(2), {}};
  for (const auto& d : access_json_rows(st, 3)) level.doors.push_back(LevelDoor{d.at(0).get<std::string>(), d.at(1).get<int>()});
  return level;
}

std::vector<AccessLevel> Access::levels() { return read_levels(select_levels("ORDER BY a.id"), nullptr); }

std::vector<AccessLevel> Access::levels_on(const std::string& sn) {
  return read_levels(select_levels("WHERE a.id IN (SELECT level_id FROM level_doors WHERE sn = $1) ORDER BY a.id"), &sn);
}

std::vector<std::string> Access::panels() {
  std::vector<std::string> out;
  auto st = c_.prepare("SELECT DISTINCT sn FROM level_doors ORDER BY sn");
  while (st.step()) out.push_back(st.column_text(0));
  return out;
}

// The level's doors, in one statement (its old ones are gone already); a door named twice is one.
void Access::write_doors(const AccessLevel& level) {
  if (level.doors.empty()) return;
  std::vector<std::string> sns;
  std::vector<std::int64_t> doors;
  for (const auto& d : level.doors) {
    sns.push_back(d.sn);
    doors.push_back(d.door);
  }
  auto st = c_.prepare(
      "INSERT INTO level_doors (level_id, sn, door) SELECT $1, t.sn, t.door FROM unnest($2::text[], $3::bigint[]) "
      "AS t(sn, door) ON CONFLICT DO NOTHING");
  st.bind(1, level.id).bind(2, sns).bind(3, doors);
  st.run();
}

std::int64_t Access::insert_level(const AccessLevel& level) {
  // Only with a known time rule (no row returned otherwise), rather than left to the foreign key.
  auto st = c_.prepare(
      "INSERT INTO access_levels (name, time_rule_id) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM time_rules WHERE id = $2) "
      "RETURNING id");
  st.bind(1, level.name).bind(2, level.time_rule_id);
  if (!st.step()) throw Refused(Reason::not_found, "no time rule " + std::to_string(level.time_rule_id));
  AccessLevel stored = level;
  stored.id = st.column_int(0);
  write_doors(stored);
  return stored.id;
}

void Access::update_level(const AccessLevel& level) {
  if (!time_rule(level.time_rule_id))
    throw Refused(Reason::not_found, "no time rule " + std::to_string(level.time_rule_id));
  // The old doors go in the same statement; an unknown level has none.
  auto st = c_.prepare(
      "WITH old_doors AS (DELETE FROM level_doors WHERE level_id = $1) "
      "UPDATE access_levels SET name = $2, time_rule_id = $3 WHERE id = $1");
  st.bind(1, level.id).bind(2, level.name).bind(3, level.time_rule_id);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no access level " + std::to_string(level.id));
  write_doors(level);
}

void Access::delete_level(std::int64_t id) {
  auto st = c_.prepare("DELETE FROM access_levels WHERE id = $1");
  st.bind(1, id);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no access level " + std::to_string(id));
}

void Access::move_panel(const std::string& from, const std::string& to) {
  for (const char* sql : {// The new panel's own doors give way to the old panel's.
                          "DELETE FROM level_doors WHERE sn = $2 AND (level_id, door) IN "
                          "(SELECT level_id, door FROM level_doors WHERE sn = $1)",
                          "UPDATE level_doors SET sn = $2 WHERE sn = $1",
                          "DELETE FROM door_settings WHERE sn = $2 AND EXISTS (SELECT 1 FROM door_settings WHERE sn = $1)",
                          "UPDATE door_settings SET sn = $2 WHERE sn = $1",
                          // Its doors' places in anti-passback zones too (the new panel's own give way).
                          "DELETE FROM apb_zone_doors WHERE sn = $2 AND (zone_id, door) IN "
                          "(SELECT zone_id, door FROM apb_zone_doors WHERE sn = $1)",
                          "UPDATE apb_zone_doors SET sn = $2 WHERE sn = $1"}) {
    auto move = c_.prepare(sql);
    move.bind(1, from).bind(2, to);
    move.run();
  }
}

// ---- door settings ---------------------------------------------------------------------------------

std::vector<DoorSettings> Access::door_settings(const std::string& sn) {
  std::vector<DoorSettings> out;
  auto st = c_.prepare("SELECT sn, door, name, settings, updated_at FROM door_settings WHERE $1 = '' OR sn = $1 "
                       "ORDER BY sn, door");
  st.bind(1, sn);
  while (st.step()) out.push_back(rows::read_door_settings(st));
  return out;
}

std::optional<DoorSettings> Access::door_setting(const std::string& sn, int door) {
  auto st = c_.prepare("SELECT sn, door, name, settings, updated_at FROM door_settings WHERE sn = $1 AND door = $2");
  st.bind(1, sn).bind(2, std::int64_t{door});
  if (!st.step()) return std::nullopt;
  return rows::read_door_settings(st);
}

void Access::put_door_settings(const DoorSettings& d) {
  auto st = c_.prepare(
      "INSERT INTO door_settings (sn, door, name, settings, updated_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (sn, door) DO UPDATE SET name = excluded.name, settings = excluded.settings, "
      "updated_at = excluded.updated_at");
  st.bind(1, d.sn).bind(2, std::int64_t{d.door}).bind(3, d.name).bind(4, d.settings).bind(5, d.updated_at);
  st.run();
}

}  // namespace zkpush::storage::postgres

// ---- global anti-passback ---------------------------------------------------------------------------

namespace zkpush::storage::postgres {

namespace {
// A zone's columns and its doors (a JSON array of [sn, door, direction], by sn and door).
std::string select_zones(std::string_view where) {
  return "SELECT z.id, z.name, z.mode, z.minutes, (SELECT json_agg(json_build_array(d.sn, d.door, d.direction) "
         "ORDER BY d.sn, d.door) FROM apb_zone_doors d WHERE d.zone_id = z.id) FROM apb_zones z " +
         std::string(where);
}
}  // namespace

std::vector<ApbZone> Access::read_zones(std::string_view sql, const std::string& sn, std::int64_t number) {
  std::vector<ApbZone> zones;
  auto st = c_.prepare(sql);
  if (!sn.empty()) st.bind(1, sn).bind(2, number);
  else if (number > 0) st.bind(1, number);
  while (st.step()) {
    ApbZone z;
    z.id = st.column_int(0);
    z.name = st.column_text(1);
    z.mode = st.column_text(2);
    z.minutes = static_cast<int>(st.column_int(3));
    for (const auto& d : access_json_rows(st, 4))
      z.doors.push_back(ApbZoneDoor{d.at(0).get<std::string>(), d.at(1).get<int>(), d.at(2).get<std::string>()});
    zones.push_back(std::move(z));
  }
  return zones;
}

std::vector<ApbZone> Access::apb_zones() { return read_zones(select_zones("ORDER BY z.id"), "", 0); }

std::optional<ApbZone> Access::apb_zone(std::int64_t id) {
  auto zones = read_zones(select_zones("WHERE z.id = $1"), "", id);
  if (zones.empty()) return std::nullopt;
  return std::move(zones.front());
}

std::vector<ApbZone> Access::apb_zones_at(const std::string& sn, int door) {
  return read_zones(select_zones("WHERE z.id IN (SELECT zone_id FROM apb_zone_doors WHERE sn = $1 AND door = $2) "
                                 "ORDER BY z.id"),
                    sn, door);
}

std::optional<ApbPresence> Access::apb_presence(std::int64_t zone_id, const std::string& pin) {
  auto st = c_.prepare("SELECT zone_id, pin, inside, entered_at, exited_at FROM apb_presence WHERE zone_id = $1 AND pin = $2");
  st.bind(1, zone_id).bind(2, pin);
  if (!st.step()) return std::nullopt;
  return rows::read_presence(st);
}

std::vector<ApbPresence> Access::apb_presences(std::int64_t zone_id) {
  auto st = c_.prepare("SELECT zone_id, pin, inside, entered_at, exited_at FROM apb_presence WHERE zone_id = $1 ORDER BY pin");
  st.bind(1, zone_id);
  std::vector<ApbPresence> out;
  while (st.step()) out.push_back(rows::read_presence(st));
  return out;
}

// The zone's doors, replaced whole in two statements. A door named twice keeps its last direction
// (as one insert-or-replace after the other would): the list is reduced first, since one upsert
// cannot touch a row twice.
void Access::write_zone_doors(const ApbZone& zone) {
  std::map<std::pair<std::string, int>, std::string> doors;
  for (const auto& d : zone.doors) {
    if (d.direction != "in" && d.direction != "out" && d.direction != "reader")
      throw Refused(Reason::invalid, "a zone door's direction is in, out or reader");
    doors[{d.sn, d.door}] = d.direction;
  }
  auto clear = c_.prepare("DELETE FROM apb_zone_doors WHERE zone_id = $1");
  clear.bind(1, zone.id);
  clear.run();
  if (doors.empty()) return;
  std::vector<std::string> sns, directions;
  std::vector<std::int64_t> numbers;
  for (const auto& [door, direction] : doors) {
    sns.push_back(door.first);
    numbers.push_back(door.second);
    directions.push_back(direction);
  }
  auto st = c_.prepare(
      "INSERT INTO apb_zone_doors (zone_id, sn, door, direction) SELECT $1, t.sn, t.door, t.direction "
      "FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(sn, door, direction)");
  st.bind(1, zone.id).bind(2, sns).bind(3, numbers).bind(4, directions);
  st.run();
}

std::int64_t Access::insert_apb_zone(const ApbZone& zone) {
  auto st = c_.prepare("INSERT INTO apb_zones (name, mode, minutes) VALUES ($1, $2, $3) RETURNING id");
  st.bind(1, zone.name).bind(2, zone.mode).bind(3, std::int64_t{zone.minutes});
  st.step();
  ApbZone z = zone;
  z.id = st.column_int(0);
  write_zone_doors(z);
  return z.id;
}

void Access::update_apb_zone(const ApbZone& zone) {
  auto st = c_.prepare("UPDATE apb_zones SET name = $2, mode = $3, minutes = $4 WHERE id = $1");
  st.bind(1, zone.id).bind(2, zone.name).bind(3, zone.mode).bind(4, std::int64_t{zone.minutes});
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no anti-passback zone " + std::to_string(zone.id));
  write_zone_doors(zone);
}

void Access::delete_apb_zone(std::int64_t id) {
  // The zone's doors and presences go with it, in the same statement (the count is the zone's).
  auto st = c_.prepare(
      "WITH doors AS (DELETE FROM apb_zone_doors WHERE zone_id = $1), presence AS (DELETE FROM apb_presence "
      "WHERE zone_id = $1) DELETE FROM apb_zones WHERE id = $1");
  st.bind(1, id);
  st.run();
  if (c_.changes() == 0) throw Refused(Reason::not_found, "no anti-passback zone " + std::to_string(id));
}

void Access::put_apb_presence(const ApbPresence& p) {
  auto st = c_.prepare(
      "INSERT INTO apb_presence (zone_id, pin, inside, entered_at, exited_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (zone_id, pin) DO UPDATE SET inside = excluded.inside, entered_at = excluded.entered_at, "
      "exited_at = excluded.exited_at");
  st.bind(1, p.zone_id).bind(2, p.pin).bind(3, std::int64_t{p.inside ? 1 : 0}).bind(4, p.entered_at).bind(5, p.exited_at);
  st.run();
}

std::int64_t Access::reset_apb(std::int64_t zone_id, const std::string& pin) {
  auto st = c_.prepare("DELETE FROM apb_presence WHERE zone_id = $1 AND ($2 = '' OR pin = $2)");
  st.bind(1, zone_id).bind(2, pin);
  st.run();
  return c_.changes();
}

}  // namespace zkpush::storage::postgres
