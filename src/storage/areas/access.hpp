// Area: the access-control domain the server is the source of truth for: persons with their cards
// and credentials, time rules, holidays, access levels (doors on any panels × one time rule) and which
// persons hold which levels.
//
// Rows and the rules a database can keep (unique pins and card numbers, a time rule in use cannot
// go); validation of values and what a change means for the panels are the access and sync
// services' (service/access.hpp, service/sync.hpp), which call this inside one unit of work.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::storage {

struct Card {
  std::string number;  // decimal text as the operator or the panel gave it
  bool lost = false;
  bool operator==(const Card&) const = default;
};

// A biometric template or photo, stored once and sent to each panel in the form it supports.
struct Credential {
  std::int64_t id = 0;
  std::string type;         // "fingerprint", "face", "palm", "finger_vein", "iris", "photo"...
  int bio_type = 1;         // the manual's biometric type (Appendix 18, 0-10); 0 for a user photo
  int no = 0;               // finger 0-9 for fingerprints, left/right for palms and irises, else 0
  int index = 0;            // template of the same instance (biodata Index)
  bool duress = false;
  std::string format;       // "templatev10", "biodata", "biophoto", "userpic"
  std::string version;      // algorithm version (biodata MajorVer.MinorVer), "" unknown
  std::string content;      // base64 as uploaded
  std::string enrolled_at;  // serial number of the panel it came from, "" = from the API
  std::int64_t created_at = 0;
  bool operator==(const Credential&) const = default;
};

struct Person {
  std::string pin;
  std::string name;
  std::string password;
  int privilege = 0;         // user.Privilege: 0 user, 2 registrar, 6 administrator, 14 super administrator
  int group = 1;             // user.Group
  std::string valid_from;    // "YYYY-MM-DD", "" = no limit
  std::string valid_until;   // "YYYY-MM-DD", "" = no limit
  bool disabled = false;     // kept on the panels but authorised for no door
  std::string enrolled_at;   // adopted from this panel's upload ("" = created through the API)
  std::vector<Card> cards;   // in order: the first card that is not lost is the user row's
  std::vector<std::int64_t> levels;  // access level ids, ascending
  std::vector<Credential> credentials;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  bool operator==(const Person&) const = default;
};

// One period of a day, minutes since midnight, start <= end (the manual has no period across
// midnight); up to three per day.
struct Period {
  int start = 0;
  int end = 0;
  bool operator==(const Period&) const = default;
};

// Days in the manual's order: Sun Mon Tue Wed Thu Fri Sat Hol1 Hol2 Hol3.
inline constexpr std::array<const char*, 10> kRuleDays{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "hol1", "hol2", "hol3"};

struct TimeRule {
  std::int64_t id = 0;
  std::string name;
  std::array<std::vector<Period>, 10> days;  // kRuleDays order
  bool operator==(const TimeRule&) const = default;
};
// Time rule 1 exists from the start and means always: 00:00-23:59 every day and holiday.
inline constexpr std::int64_t kAlwaysRule = 1;

// A holiday: one date or a range of dates, of type 1-3 (which Hol1/Hol2/Hol3 periods of the time
// rules apply that day), yearly or not. The manual's holiday row is one date, so a range becomes
// one row per day on the panels.
struct Holiday {
  std::int64_t id = 0;
  std::string name;
  std::string start;  // "YYYY-MM-DD"
  std::string end;    // "YYYY-MM-DD", >= start
  int type = 1;
  bool yearly = false;
  bool operator==(const Holiday&) const = default;
};

struct LevelDoor {
  std::string sn;
  int door = 0;  // 1-based door number of that panel
  bool operator==(const LevelDoor&) const = default;
};

struct AccessLevel {
  std::int64_t id = 0;
  std::string name;
  std::int64_t time_rule_id = kAlwaysRule;
  std::vector<LevelDoor> doors;  // ordered by sn, door
  bool operator==(const AccessLevel&) const = default;
};

// What the operator set for one door of a panel (door 1..LockCount: its name and the door
// parameters of Appendix 10) or for the panel itself (door 0: Appendix 12's anti-passback and
// interlock). `settings` is a JSON object the access service writes and reads (service/doors.hpp);
// the store keeps it whole.
struct DoorSettings {
  std::string sn;
  int door = 0;
  std::string name;
  std::string settings = "{}";
  std::int64_t updated_at = 0;
  bool operator==(const DoorSettings&) const = default;
};

// Global anti-passback (remote identification): a zone whose entry and exit doors may sit on
// different panels. A person inside cannot enter again before leaving (logical), or within
// `minutes` of entering (timed).
struct ApbZoneDoor {
  std::string sn;
  int door = 0;
  std::string direction;  // "in", "out", or "reader": the reader that reads says (inoutstatus)
  bool operator==(const ApbZoneDoor&) const = default;
};
struct ApbZone {
  std::int64_t id = 0;
  std::string name;
  std::string mode = "logical";  // "logical" | "timed"
  int minutes = 0;               // timed: how long after an entry the next one is refused
  std::vector<ApbZoneDoor> doors;  // ordered by sn, door
  bool operator==(const ApbZone&) const = default;
};
// Where a person stands in a zone (kept across restarts).
struct ApbPresence {
  std::int64_t zone_id = 0;
  std::string pin;
  bool inside = false;
  std::int64_t entered_at = 0;
  std::int64_t exited_at = 0;
  bool operator==(const ApbPresence&) const = default;
};

class AccessReads {
 public:
  virtual ~AccessReads() = default;
  // With cards, levels and credentials.
  virtual std::optional<Person> person(const std::string& pin) = 0;
  // By pin, after `after_pin` ("" = from the first), at most `limit` (<= 0: all).
  virtual std::vector<Person> persons(const std::string& after_pin, std::int64_t limit) = 0;
  virtual std::int64_t person_count() = 0;
  // The pin holding a card number, if any.
  virtual std::optional<std::string> card_owner(const std::string& number) = 0;
  // Pins holding any of the levels.
  virtual std::vector<std::string> holders(const std::vector<std::int64_t>& levels) = 0;

  virtual std::optional<TimeRule> time_rule(std::int64_t id) = 0;
  virtual std::vector<TimeRule> time_rules() = 0;

  virtual std::optional<Holiday> holiday(std::int64_t id) = 0;
  virtual std::vector<Holiday> holidays() = 0;  // by id

  virtual std::optional<AccessLevel> level(std::int64_t id) = 0;
  virtual std::vector<AccessLevel> levels() = 0;
  // Levels with a door on the panel.
  virtual std::vector<AccessLevel> levels_on(const std::string& sn) = 0;
  // Serial numbers of every panel a level names, ascending.
  virtual std::vector<std::string> panels() = 0;

  // By sn and door; `sn` "" for every panel's.
  virtual std::vector<DoorSettings> door_settings(const std::string& sn) = 0;
  virtual std::optional<DoorSettings> door_setting(const std::string& sn, int door) = 0;

  virtual std::vector<ApbZone> apb_zones() = 0;  // by id
  virtual std::optional<ApbZone> apb_zone(std::int64_t id) = 0;
  // The zones one of whose doors is that door of that panel.
  virtual std::vector<ApbZone> apb_zones_at(const std::string& sn, int door) = 0;
  virtual std::optional<ApbPresence> apb_presence(std::int64_t zone_id, const std::string& pin) = 0;
  virtual std::vector<ApbPresence> apb_presences(std::int64_t zone_id) = 0;  // by pin
};

class AccessWrites : public AccessReads {
 public:
  // Refused: conflict for a pin that exists or a card another person holds; not_found for an
  // unknown level. Cards, levels and credentials are written with the person.
  virtual void insert_person(const Person& person) = 0;
  // Replaces the person's row, cards and levels (credentials are kept: add/remove_credential).
  // Refused as insert_person, and not_found for an unknown pin.
  virtual void update_person(const Person& person) = 0;
  // Refused: not_found. Cards, levels and credentials go with it.
  virtual void delete_person(const std::string& pin) = 0;
  // Returns the id; one of the same (bio_type, no, index, format) is replaced. Refused: not_found.
  virtual std::int64_t put_credential(const std::string& pin, const Credential& credential) = 0;
  // Refused: not_found (no such credential of that person).
  virtual void delete_credential(const std::string& pin, std::int64_t id) = 0;

  // Returns the new id (`rule.id` is ignored).
  virtual std::int64_t insert_time_rule(const TimeRule& rule) = 0;
  virtual void update_time_rule(const TimeRule& rule) = 0;  // not_found
  // Refused: not_found; conflict for rule 1 or a rule a level uses.
  virtual void delete_time_rule(std::int64_t id) = 0;

  // Returns the new id (`holiday.id` is ignored).
  virtual std::int64_t insert_holiday(const Holiday& holiday) = 0;
  virtual void update_holiday(const Holiday& holiday) = 0;  // not_found
  virtual void delete_holiday(std::int64_t id) = 0;         // not_found

  // Returns the new id. Refused: not_found for an unknown time rule.
  virtual std::int64_t insert_level(const AccessLevel& level) = 0;
  virtual void update_level(const AccessLevel& level) = 0;  // not_found (level or time rule)
  virtual void delete_level(std::int64_t id) = 0;           // not_found; persons lose it
  // A replaced panel: the doors of `from` in every level become the same doors of `to`, and its
  // door settings become `to`'s.
  virtual void move_panel(const std::string& from, const std::string& to) = 0;
  // Inserts or replaces the row of (sn, door).
  virtual void put_door_settings(const DoorSettings& settings) = 0;

  // Returns the new id (`zone.id` ignored). update: not_found. delete: not_found; its presences go.
  virtual std::int64_t insert_apb_zone(const ApbZone& zone) = 0;
  virtual void update_apb_zone(const ApbZone& zone) = 0;
  virtual void delete_apb_zone(std::int64_t id) = 0;
  virtual void put_apb_presence(const ApbPresence& presence) = 0;
  // Forgets where persons stand in a zone: `pin` one, "" all. How many were forgotten.
  virtual std::int64_t reset_apb(std::int64_t zone_id, const std::string& pin) = 0;
};

}  // namespace zkpush::storage
