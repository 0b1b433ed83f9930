#include "storage/sqlite/access.hpp"

#include <algorithm>

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::sqlite {

namespace {

using Reason = StoreError::Reason;

constexpr std::string_view kPersonColumns =
    "pin, name, password, privilege, grp, valid_from, valid_until, disabled, enrolled_at, created_at, updated_at";

bool is_constraint(const SqliteError& e) { return (e.code() & 0xff) == 19; }  // SQLITE_CONSTRAINT

}  // namespace

// ---- persons -------------------------------------------------------------------------------------

void Access::fill(Person& p) {
  {
    auto st = c_.prepare("SELECT number, lost FROM cards WHERE pin = ?1 ORDER BY position, number");
    st->bind(1, p.pin);
    while (st->step()) p.cards.push_back(Card{st->column_text(0), st->column_int(1) != 0});
  }
  {
    auto st = c_.prepare("SELECT level_id FROM person_levels WHERE pin = ?1 ORDER BY level_id");
    st->bind(1, p.pin);
    while (st->step()) p.levels.push_back(st->column_int(0));
  }
  auto st = c_.prepare(
      "SELECT id, type, no, idx, duress, format, version, content, enrolled_at, created_at, bio_type FROM credentials "
      "WHERE pin = ?1 ORDER BY bio_type, no, idx, format");
  st->bind(1, p.pin);
  while (st->step()) {
    Credential c;
    c.id = st->column_int(0);
    c.type = st->column_text(1);
    c.no = static_cast<int>(st->column_int(2));
    c.index = static_cast<int>(st->column_int(3));
    c.duress = st->column_int(4) != 0;
    c.format = st->column_text(5);
    c.version = st->column_text(6);
    c.content = st->column_text(7);
    c.enrolled_at = st->column_text(8);
    c.created_at = st->column_int(9);
    c.bio_type = static_cast<int>(st->column_int(10));
    p.credentials.push_back(std::move(c));
  }
}

std::optional<Person> Access::person(const std::string& pin) {
  std::optional<Person> p;
  {
    auto st = c_.prepare(std::string("SELECT ") + std::string(kPersonColumns) + " FROM persons WHERE pin = ?1");
    st->bind(1, pin);
    if (!st->step()) return std::nullopt;
    p = rows::read_person(*st);
  }
  fill(*p);
  return p;
}

std::vector<Person> Access::persons(const std::string& after_pin, std::int64_t limit) {
  std::vector<Person> out;
  {
    auto st = c_.prepare(std::string("SELECT ") + std::string(kPersonColumns) +
                         " FROM persons WHERE pin > ?1 ORDER BY pin LIMIT ?2");
    st->bind(1, after_pin).bind(2, limit > 0 ? limit : std::int64_t{-1});
    while (st->step()) out.push_back(rows::read_person(*st));
  }
  for (auto& p : out) fill(p);
  return out;
}

std::int64_t Access::person_count() {
  auto st = c_.prepare("SELECT count(*) FROM persons");
  st->step();
  return st->column_int(0);
}

std::optional<std::string> Access::card_owner(const std::string& number) {
  auto st = c_.prepare("SELECT pin FROM cards WHERE number = ?1");
  st->bind(1, number);
  if (!st->step()) return std::nullopt;
  return st->column_text(0);
}

std::vector<std::string> Access::holders(const std::vector<std::int64_t>& levels) {
  std::vector<std::string> out;
  auto st = c_.prepare("SELECT pin FROM person_levels WHERE level_id = ?1");
  for (auto id : levels) {
    st->bind(1, id);
    while (st->step()) out.push_back(st->column_text(0));
    st->reset();
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Access::write_links(const Person& p) {
  {
    auto st = c_.prepare("DELETE FROM cards WHERE pin = ?1");
    st->bind(1, p.pin);
    st->run();
  }
  {
    auto st = c_.prepare("DELETE FROM person_levels WHERE pin = ?1");
    st->bind(1, p.pin);
    st->run();
  }
  {
    auto owner = c_.prepare("SELECT pin FROM cards WHERE number = ?1");
    auto st = c_.prepare("INSERT INTO cards (number, pin, lost, position) VALUES (?1, ?2, ?3, ?4)");
    std::int64_t position = 0;
    for (const auto& card : p.cards) {
      owner->bind(1, card.number);
      if (owner->step()) {
        const std::string holder = owner->column_text(0);
        throw Refused(Reason::conflict, "card " + card.number + " belongs to person " + holder);
      }
      owner->reset();
      st->bind(1, card.number).bind(2, p.pin).bind(3, card.lost ? 1 : 0).bind(4, position++);
      st->run();
      st->reset();
    }
  }
  auto exists = c_.prepare("SELECT 1 FROM access_levels WHERE id = ?1");
  auto st = c_.prepare("INSERT OR IGNORE INTO person_levels (pin, level_id) VALUES (?1, ?2)");
  for (auto id : p.levels) {
    exists->bind(1, id);
    if (!exists->step()) throw Refused(Reason::not_found, "no access level " + std::to_string(id));
    exists->reset();
    st->bind(1, p.pin).bind(2, id);
    st->run();
    st->reset();
  }
}

void Access::insert_person(const Person& p) {
  if (p.pin.empty()) throw Refused(Reason::invalid, "a person needs a pin");
  auto st = c_.prepare(
      "INSERT INTO persons (pin, name, password, privilege, grp, valid_from, valid_until, disabled, enrolled_at, "
      "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (pin) DO NOTHING");
  st->bind(1, p.pin).bind(2, p.name).bind(3, p.password).bind(4, p.privilege).bind(5, p.group).bind(6, p.valid_from);
  st->bind(7, p.valid_until).bind(8, p.disabled ? 1 : 0).bind(9, p.enrolled_at).bind(10, p.created_at).bind(11, p.updated_at);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::conflict, "a person with pin " + p.pin + " exists");
  write_links(p);
}

void Access::update_person(const Person& p) {
  auto st = c_.prepare(
      "UPDATE persons SET name = ?2, password = ?3, privilege = ?4, grp = ?5, valid_from = ?6, valid_until = ?7, "
      "disabled = ?8, enrolled_at = ?9, updated_at = ?10 WHERE pin = ?1");
  st->bind(1, p.pin).bind(2, p.name).bind(3, p.password).bind(4, p.privilege).bind(5, p.group).bind(6, p.valid_from);
  st->bind(7, p.valid_until).bind(8, p.disabled ? 1 : 0).bind(9, p.enrolled_at).bind(10, p.updated_at);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no person with pin " + p.pin);
  write_links(p);
}

void Access::delete_person(const std::string& pin) {
  auto st = c_.prepare("DELETE FROM persons WHERE pin = ?1");
  st->bind(1, pin);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no person with pin " + pin);
}

std::int64_t Access::put_credential(const std::string& pin, const Credential& c) {
  auto st = c_.prepare(
      "INSERT INTO credentials (pin, type, no, idx, duress, format, version, content, enrolled_at, created_at, bio_type) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (pin, bio_type, no, idx, format) DO UPDATE SET "
      "type = excluded.type, duress = excluded.duress, version = excluded.version, content = excluded.content, "
      "enrolled_at = excluded.enrolled_at, created_at = excluded.created_at RETURNING id");
  st->bind(1, pin).bind(2, c.type).bind(3, c.no).bind(4, c.index).bind(5, c.duress ? 1 : 0).bind(6, c.format);
  st->bind(7, c.version).bind(8, c.content).bind(9, c.enrolled_at).bind(10, c.created_at).bind(11, std::int64_t{c.bio_type});
  try {
    if (!st->step()) throw Refused(Reason::not_found, "no person with pin " + pin);
  } catch (const SqliteError& e) {
    if (is_constraint(e)) throw Refused(Reason::not_found, "no person with pin " + pin);
    throw;
  }
  return st->column_int(0);
}

void Access::delete_credential(const std::string& pin, std::int64_t id) {
  auto st = c_.prepare("DELETE FROM credentials WHERE pin = ?1 AND id = ?2");
  st->bind(1, pin).bind(2, id);
  st->run();
  if (c_.db().changes() == 0)
    throw Refused(Reason::not_found, "no credential " + std::to_string(id) + " of person " + pin);
}

// ---- holidays ---------------------------------------------------------------------------------------

namespace {
constexpr std::string_view kHolidayColumns = "id, name, start_date, end_date, type, yearly";
}  // namespace

std::optional<Holiday> Access::holiday(std::int64_t id) {
  auto st = c_.prepare("SELECT " + std::string(kHolidayColumns) + " FROM holidays WHERE id = ?1");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return rows::read_holiday(*st);
}

std::vector<Holiday> Access::holidays() {
  std::vector<Holiday> out;
  auto st = c_.prepare("SELECT " + std::string(kHolidayColumns) + " FROM holidays ORDER BY id");
  while (st->step()) out.push_back(rows::read_holiday(*st));
  return out;
}

std::int64_t Access::insert_holiday(const Holiday& h) {
  auto st = c_.prepare("INSERT INTO holidays (name, start_date, end_date, type, yearly) VALUES (?1, ?2, ?3, ?4, ?5)");
  st->bind(1, h.name).bind(2, h.start).bind(3, h.end).bind(4, std::int64_t{h.type}).bind(5, std::int64_t{h.yearly ? 1 : 0});
  st->run();
  return c_.db().last_insert_rowid();
}

void Access::update_holiday(const Holiday& h) {
  auto st = c_.prepare(
      "UPDATE holidays SET name = ?2, start_date = ?3, end_date = ?4, type = ?5, yearly = ?6 WHERE id = ?1");
  st->bind(1, h.id).bind(2, h.name).bind(3, h.start).bind(4, h.end).bind(5, std::int64_t{h.type});
  st->bind(6, std::int64_t{h.yearly ? 1 : 0});
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no holiday " + std::to_string(h.id));
}

void Access::delete_holiday(std::int64_t id) {
  auto st = c_.prepare("DELETE FROM holidays WHERE id = ?1");
  st->bind(1, id);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no holiday " + std::to_string(id));
}

// ---- time rules ------------------------------------------------------------------------------------

std::optional<TimeRule> Access::time_rule(std::int64_t id) {
  auto st = c_.prepare("SELECT id, name, segments FROM time_rules WHERE id = ?1");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return rows::read_rule(*st);
}

std::vector<TimeRule> Access::time_rules() {
  std::vector<TimeRule> out;
  auto st = c_.prepare("SELECT id, name, segments FROM time_rules ORDER BY id");
  while (st->step()) out.push_back(rows::read_rule(*st));
  return out;
}

std::int64_t Access::insert_time_rule(const TimeRule& rule) {
  auto st = c_.prepare("INSERT INTO time_rules (name, segments) VALUES (?1, ?2)");
  st->bind(1, rule.name).bind(2, rows::segments_json(rule));
  st->run();
  return c_.db().last_insert_rowid();
}

void Access::update_time_rule(const TimeRule& rule) {
  auto st = c_.prepare("UPDATE time_rules SET name = ?2, segments = ?3 WHERE id = ?1");
  st->bind(1, rule.id).bind(2, rule.name).bind(3, rows::segments_json(rule));
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no time rule " + std::to_string(rule.id));
}

void Access::delete_time_rule(std::int64_t id) {
  if (id == kAlwaysRule) throw Refused(Reason::conflict, "time rule 1 (always) cannot be deleted");
  {
    auto st = c_.prepare("SELECT id FROM access_levels WHERE time_rule_id = ?1 LIMIT 1");
    st->bind(1, id);
    if (st->step())
      throw Refused(Reason::conflict, "time rule " + std::to_string(id) + " is used by access level " +
                                          std::to_string(st->column_int(0)));
  }
  auto st = c_.prepare("DELETE FROM time_rules WHERE id = ?1");
  st->bind(1, id);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no time rule " + std::to_string(id));
}

// ---- access levels -----------------------------------------------------------------------------------

std::vector<AccessLevel> Access::read_levels(std::string_view sql, const std::string* sn) {
  std::vector<AccessLevel> out;
  {
    auto st = c_.prepare(sql);
    if (sn) st->bind(1, *sn);
    while (st->step()) out.push_back(AccessLevel{st->column_int(0), st->column_text(1), st->column_int(2), {}});
  }
  auto st = c_.prepare("SELECT sn, door FROM level_doors WHERE level_id = ?1 ORDER BY sn, door");
  for (auto& level : out) {
    st->bind(1, level.id);
    while (st->step()) level.doors.push_back(LevelDoor{st->column_text(0), static_cast<int>(st->column_int(1))});
    st->reset();
  }
  return out;
}

std::optional<AccessLevel> Access::level(std::int64_t id) {
  std::optional<AccessLevel> out;
  {
    auto st = c_.prepare("SELECT id, name, time_rule_id FROM access_levels WHERE id = ?1");
    st->bind(1, id);
    if (!st->step()) return std::nullopt;
    out = AccessLevel{st->column_int(0), st->column_text(1), st->column_int(2), {}};
  }
  auto st = c_.prepare("SELECT sn, door FROM level_doors WHERE level_id = ?1 ORDER BY sn, door");
  st->bind(1, id);
  while (st->step()) out->doors.push_back(LevelDoor{st->column_text(0), static_cast<int>(st->column_int(1))});
  return out;
}

std::vector<AccessLevel> Access::levels() {
  return read_levels("SELECT id, name, time_rule_id FROM access_levels ORDER BY id", nullptr);
}

std::vector<AccessLevel> Access::levels_on(const std::string& sn) {
  return read_levels(
      "SELECT id, name, time_rule_id FROM access_levels WHERE id IN (SELECT level_id FROM level_doors WHERE sn = ?1) "
      "ORDER BY id",
      &sn);
}

std::vector<std::string> Access::panels() {
  std::vector<std::string> out;
  auto st = c_.prepare("SELECT DISTINCT sn FROM level_doors ORDER BY sn");
  while (st->step()) out.push_back(st->column_text(0));
  return out;
}

void Access::write_doors(const AccessLevel& level) {
  {
    auto st = c_.prepare("DELETE FROM level_doors WHERE level_id = ?1");
    st->bind(1, level.id);
    st->run();
  }
  auto st = c_.prepare("INSERT OR IGNORE INTO level_doors (level_id, sn, door) VALUES (?1, ?2, ?3)");
  for (const auto& d : level.doors) {
    st->bind(1, level.id).bind(2, d.sn).bind(3, d.door);
    st->run();
    st->reset();
  }
}

std::int64_t Access::insert_level(const AccessLevel& level) {
  if (!time_rule(level.time_rule_id))
    throw Refused(Reason::not_found, "no time rule " + std::to_string(level.time_rule_id));
  auto st = c_.prepare("INSERT INTO access_levels (name, time_rule_id) VALUES (?1, ?2)");
  st->bind(1, level.name).bind(2, level.time_rule_id);
  st->run();
  AccessLevel stored = level;
  stored.id = c_.db().last_insert_rowid();
  write_doors(stored);
  return stored.id;
}

void Access::update_level(const AccessLevel& level) {
  if (!time_rule(level.time_rule_id))
    throw Refused(Reason::not_found, "no time rule " + std::to_string(level.time_rule_id));
  auto st = c_.prepare("UPDATE access_levels SET name = ?2, time_rule_id = ?3 WHERE id = ?1");
  st->bind(1, level.id).bind(2, level.name).bind(3, level.time_rule_id);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no access level " + std::to_string(level.id));
  write_doors(level);
}

void Access::delete_level(std::int64_t id) {
  auto st = c_.prepare("DELETE FROM access_levels WHERE id = ?1");
  st->bind(1, id);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no access level " + std::to_string(id));
}

void Access::move_panel(const std::string& from, const std::string& to) {
  {
    auto st = c_.prepare("DELETE FROM level_doors WHERE sn = ?2 AND (level_id, door) IN "
                         "(SELECT level_id, door FROM level_doors WHERE sn = ?1)");
    st->bind(1, from).bind(2, to);
    st->run();
  }
  auto st = c_.prepare("UPDATE level_doors SET sn = ?2 WHERE sn = ?1");
  st->bind(1, from).bind(2, to);
  st->run();
  for (const char* sql : {"DELETE FROM door_settings WHERE sn = ?2 AND EXISTS (SELECT 1 FROM door_settings WHERE sn = ?1)",
                          "UPDATE door_settings SET sn = ?2 WHERE sn = ?1",
                          // Its doors' places in anti-passback zones too (the new panel's own give way).
                          "DELETE FROM apb_zone_doors WHERE sn = ?2 AND (zone_id, door) IN "
                          "(SELECT zone_id, door FROM apb_zone_doors WHERE sn = ?1)",
                          "UPDATE apb_zone_doors SET sn = ?2 WHERE sn = ?1"}) {
    auto move = c_.prepare(sql);
    move->bind(1, from).bind(2, to);
    move->run();
  }
}

// ---- door settings ---------------------------------------------------------------------------------

std::vector<DoorSettings> Access::door_settings(const std::string& sn) {
  std::vector<DoorSettings> out;
  auto st = c_.prepare("SELECT sn, door, name, settings, updated_at FROM door_settings WHERE ?1 = '' OR sn = ?1 "
                       "ORDER BY sn, door");
  st->bind(1, sn);
  while (st->step()) out.push_back(rows::read_door_settings(*st));
  return out;
}

std::optional<DoorSettings> Access::door_setting(const std::string& sn, int door) {
  auto st = c_.prepare("SELECT sn, door, name, settings, updated_at FROM door_settings WHERE sn = ?1 AND door = ?2");
  st->bind(1, sn).bind(2, std::int64_t{door});
  if (!st->step()) return std::nullopt;
  return rows::read_door_settings(*st);
}

void Access::put_door_settings(const DoorSettings& d) {
  auto st = c_.prepare(
      "INSERT INTO door_settings (sn, door, name, settings, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (sn, door) DO UPDATE SET name = excluded.name, settings = excluded.settings, "
      "updated_at = excluded.updated_at");
  st->bind(1, d.sn).bind(2, std::int64_t{d.door}).bind(3, d.name).bind(4, d.settings).bind(5, d.updated_at);
  st->run();
}

}  // namespace zkpush::storage::sqlite

// ---- global anti-passback ---------------------------------------------------------------------------

namespace zkpush::storage::sqlite {

std::vector<ApbZone> Access::read_zones(std::string_view sql, const std::string& sn, std::int64_t number) {
  std::vector<ApbZone> zones;
  {
    auto st = c_.prepare(sql);
    if (!sn.empty()) st->bind(1, sn).bind(2, number);
    else if (number > 0) st->bind(1, number);
    while (st->step()) {
      ApbZone z;
      z.id = st->column_int(0);
      z.name = st->column_text(1);
      z.mode = st->column_text(2);
      z.minutes = static_cast<int>(st->column_int(3));
      zones.push_back(std::move(z));
    }
  }
  for (auto& z : zones) {
    auto st = c_.prepare("SELECT sn, door, direction FROM apb_zone_doors WHERE zone_id = ?1 ORDER BY sn, door");
    st->bind(1, z.id);
    while (st->step()) z.doors.push_back(ApbZoneDoor{st->column_text(0), static_cast<int>(st->column_int(1)), st->column_text(2)});
  }
  return zones;
}

std::vector<ApbZone> Access::apb_zones() {
  return read_zones("SELECT id, name, mode, minutes FROM apb_zones ORDER BY id", "", 0);
}

std::optional<ApbZone> Access::apb_zone(std::int64_t id) {
  auto zones = read_zones("SELECT id, name, mode, minutes FROM apb_zones WHERE id = ?1", "", id);
  if (zones.empty()) return std::nullopt;
  return std::move(zones.front());
}

std::vector<ApbZone> Access::apb_zones_at(const std::string& sn, int door) {
  return read_zones(
      "SELECT id, name, mode, minutes FROM apb_zones WHERE id IN "
      "(SELECT zone_id FROM apb_zone_doors WHERE sn = ?1 AND door = ?2) ORDER BY id",
      sn, door);
}

std::optional<ApbPresence> Access::apb_presence(std::int64_t zone_id, const std::string& pin) {
  auto st = c_.prepare("SELECT zone_id, pin, inside, entered_at, exited_at FROM apb_presence WHERE zone_id = ?1 AND pin = ?2");
  st->bind(1, zone_id).bind(2, pin);
  if (!st->step()) return std::nullopt;
  return rows::read_presence(*st);
}

std::vector<ApbPresence> Access::apb_presences(std::int64_t zone_id) {
  auto st = c_.prepare("SELECT zone_id, pin, inside, entered_at, exited_at FROM apb_presence WHERE zone_id = ?1 ORDER BY pin");
  st->bind(1, zone_id);
  std::vector<ApbPresence> out;
  while (st->step()) out.push_back(rows::read_presence(*st));
  return out;
}

void Access::write_zone_doors(const ApbZone& zone) {
  auto clear = c_.prepare("DELETE FROM apb_zone_doors WHERE zone_id = ?1");
  clear->bind(1, zone.id);
  clear->run();
  for (const auto& d : zone.doors) {
    if (d.direction != "in" && d.direction != "out" && d.direction != "reader")
      throw Refused(Reason::invalid, "a zone door's direction is in, out or reader");
    auto st = c_.prepare("INSERT OR REPLACE INTO apb_zone_doors (zone_id, sn, door, direction) VALUES (?1, ?2, ?3, ?4)");
    st->bind(1, zone.id).bind(2, d.sn).bind(3, std::int64_t{d.door}).bind(4, d.direction);
    st->run();
  }
}

std::int64_t Access::insert_apb_zone(const ApbZone& zone) {
  auto st = c_.prepare("INSERT INTO apb_zones (name, mode, minutes) VALUES (?1, ?2, ?3)");
  st->bind(1, zone.name).bind(2, zone.mode).bind(3, std::int64_t{zone.minutes});
  st->run();
  ApbZone z = zone;
  z.id = c_.db().last_insert_rowid();
  write_zone_doors(z);
  return z.id;
}

void Access::update_apb_zone(const ApbZone& zone) {
  auto st = c_.prepare("UPDATE apb_zones SET name = ?2, mode = ?3, minutes = ?4 WHERE id = ?1");
  st->bind(1, zone.id).bind(2, zone.name).bind(3, zone.mode).bind(4, std::int64_t{zone.minutes});
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no anti-passback zone " + std::to_string(zone.id));
  write_zone_doors(zone);
}

void Access::delete_apb_zone(std::int64_t id) {
  for (const char* sql : {"DELETE FROM apb_zone_doors WHERE zone_id = ?1", "DELETE FROM apb_presence WHERE zone_id = ?1"}) {
    auto st = c_.prepare(sql);
    st->bind(1, id);
    st->run();
  }
  auto st = c_.prepare("DELETE FROM apb_zones WHERE id = ?1");
  st->bind(1, id);
  st->run();
  if (c_.db().changes() == 0) throw Refused(Reason::not_found, "no anti-passback zone " + std::to_string(id));
}

void Access::put_apb_presence(const ApbPresence& p) {
  auto st = c_.prepare(
      "INSERT INTO apb_presence (zone_id, pin, inside, entered_at, exited_at) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (zone_id, pin) DO UPDATE SET inside = excluded.inside, entered_at = excluded.entered_at, "
      "exited_at = excluded.exited_at");
  st->bind(1, p.zone_id).bind(2, p.pin).bind(3, std::int64_t{p.inside ? 1 : 0}).bind(4, p.entered_at).bind(5, p.exited_at);
  st->run();
}

std::int64_t Access::reset_apb(std::int64_t zone_id, const std::string& pin) {
  auto st = c_.prepare("DELETE FROM apb_presence WHERE zone_id = ?1 AND (?2 = '' OR pin = ?2)");
  st->bind(1, zone_id).bind(2, pin);
  st->run();
  return c_.db().changes();
}

}  // namespace zkpush::storage::sqlite
