#include "service/access.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "protocol/codecs_card.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/text.hpp"
#include "service/credentials.hpp"
#include "service/doors.hpp"

namespace zkpush::service {

namespace p = protocol;
using storage::Person;
using Reason = storage::StoreError::Reason;

namespace {

bool all_of_chars(const std::string& s, auto pred) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
}

bool valid_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  const auto y = p::text::parse_int(d.substr(0, 4)), m = p::text::parse_int(d.substr(5, 2)),
             day = p::text::parse_int(d.substr(8, 2));
  if (!y || !m || !day || *y < 2000 || *y > 2099 || *m < 1 || *m > 12 || *day < 1) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*day > kDays[*m - 1]) return false;
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  return !(*m == 2 && *day == 29 && !leap);
}

// A value the panel stores in a tab-separated record: no control characters.
bool one_field(const std::string& s) {
  return all_of_chars(s, [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
}

void apply(Person& person, const PersonFields& f) {
  if (f.name) person.name = *f.name;
  if (f.password) person.password = *f.password;
  if (f.valid_from) person.valid_from = *f.valid_from;
  if (f.valid_until) person.valid_until = *f.valid_until;
  if (f.privilege) person.privilege = *f.privilege;
  if (f.group) person.group = *f.group;
  if (f.disabled) person.disabled = *f.disabled;
  if (f.cards) person.cards = *f.cards;
  if (f.levels) person.levels = *f.levels;
  std::sort(person.levels.begin(), person.levels.end());
  person.levels.erase(std::unique(person.levels.begin(), person.levels.end()), person.levels.end());
}

void refuse_if(const std::string& problem) {
  if (!problem.empty()) throw storage::Refused(Reason::invalid, problem);
}

// Levels named in a body must exist: invalid (400) rather than the store's not_found (404), which
// would read as "no such person".
void require_levels(storage::Transaction& tx, const std::vector<std::int64_t>& levels) {
  for (auto id : levels)
    if (!tx.access().level(id)) throw storage::Refused(Reason::invalid, "access level " + std::to_string(id) + " does not exist");
}

std::vector<std::string> merged(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

template <class T>
struct Changed {
  T value;
  std::vector<std::string> panels;
};

}  // namespace

std::optional<Enrolment> enrolment_from_name(std::string_view name) noexcept {
  if (name == "ignore") return Enrolment::ignore;
  if (name == "new_persons_only") return Enrolment::new_persons_only;
  if (name == "all") return Enrolment::all;
  return std::nullopt;
}

std::string check_pin(const std::string& pin) {
  if (pin.empty() || pin.size() > 24) return "pin: 1 to 24 characters";
  if (!all_of_chars(pin, [](unsigned char c) { return std::isalnum(c) != 0; }))
    return "pin: digits (or letters and digits, for panels with StringPinFunOn=1), not " + p::text::quoted(pin);
  return "";
}

std::string check_person(const Person& person) {
  if (auto e = check_pin(person.pin); !e.empty()) return e;
  if (person.name.size() > 64 || !one_field(person.name)) return "name: up to 64 bytes, no control characters";
  if (person.password.size() > 8 || !all_of_chars(person.password, [](unsigned char c) { return std::isdigit(c) != 0; }))
    return "password: up to 8 digits";
  static constexpr int kPrivileges[] = {0, 2, 6, 10, 14};
  if (std::find(std::begin(kPrivileges), std::end(kPrivileges), person.privilege) == std::end(kPrivileges))
    return "privilege: 0 (user), 2 (registrar), 6 (administrator), 10 (user-defined) or 14 (super administrator)";
  if (person.group < 0 || person.group > 99) return "group: 0 to 99";
  if (!person.valid_from.empty() && !valid_date(person.valid_from)) return "valid_from: a date YYYY-MM-DD (2000-2099)";
  if (!person.valid_until.empty() && !valid_date(person.valid_until)) return "valid_until: a date YYYY-MM-DD (2000-2099)";
  if (!person.valid_from.empty() && !person.valid_until.empty() && person.valid_until < person.valid_from)
    return "valid_until is before valid_from";
  std::set<std::string> numbers;
  for (const auto& card : person.cards) {
    auto parsed = p::parse_card_number(card.number);
    if (card.number.empty() || card.number.size() > 20 ||
        !all_of_chars(card.number, [](unsigned char c) { return std::isdigit(c) != 0; }) || !parsed || parsed->value == 0)
      return "cards: decimal card numbers (1 to 20 digits, not 0), not " + p::text::quoted(card.number);
    if (!numbers.insert(card.number).second) return "cards: " + card.number + " is listed twice";
  }
  for (auto id : person.levels)
    if (id <= 0) return "access_levels: ids of access levels";
  return "";
}

std::string check_rule(const storage::TimeRule& rule) {
  if (rule.name.empty() || rule.name.size() > 64 || !one_field(rule.name)) return "name: 1 to 64 bytes";
  for (std::size_t d = 0; d < rule.days.size(); ++d) {
    const auto& periods = rule.days[d];
    if (periods.size() > 3) return std::string("segments.") + storage::kRuleDays[d] + ": at most 3 periods a day";
    for (const auto& period : periods)
      if (period.start < 0 || period.end > 1439 || period.start > period.end)
        return std::string("segments.") + storage::kRuleDays[d] + ": periods within 00:00-23:59, start before end";
  }
  return "";
}

std::string check_level(const storage::AccessLevel& level) {
  if (level.name.empty() || level.name.size() > 64 || !one_field(level.name)) return "name: 1 to 64 bytes";
  if (level.time_rule_id <= 0) return "time_rule_id: the id of a time rule";
  for (const auto& d : level.doors) {
    if (!p::is_valid_serial_number(d.sn)) return "doors: " + p::text::quoted(d.sn) + " is not a serial number";
    if (d.door < 1 || d.door > 64) return "doors: door numbers are 1 to 64";
  }
  return "";
}

Access::Access(storage::Store& store, const Clock& clock, Sync& sync, Enrolment enrolment)
    : store_(store), clock_(clock), sync_(sync), enrolment_(enrolment) {}

// ---- persons -------------------------------------------------------------------------------------------

void Access::create_person(const std::string& pin, const PersonFields& fields, Reply<Person> done) {
  Person person;
  person.pin = pin;
  apply(person, fields);
  person.created_at = person.updated_at = clock_.now();
  if (auto problem = check_person(person); !problem.empty())
    return done(storage::StoreError{false, problem, Reason::invalid});
  const auto now = clock_.now();
  store_.write(
      [person, now](storage::Transaction& tx) {
        require_levels(tx, person.levels);
        tx.access().insert_person(person);
        auto panels = Sync::panels_of(tx, person.levels);
        Sync::plan_person(tx, person.pin, panels, now);
        return Changed<Person>{*tx.access().person(person.pin), std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<Person>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::update_person(const std::string& pin, const PersonFields& fields, Reply<Person> done) {
  const auto now = clock_.now();
  store_.write(
      [pin, fields, now](storage::Transaction& tx) {
        auto before = tx.access().person(pin);
        if (!before) throw storage::Refused(Reason::not_found, "no person with pin " + pin);
        Person after = *before;
        apply(after, fields);
        after.updated_at = now;
        refuse_if(check_person(after));
        require_levels(tx, after.levels);
        // A card moved from one of this person's slots to another is fine; one held by someone else is a 409.
        tx.access().update_person(after);
        auto panels = merged(Sync::panels_of(tx, before->levels), Sync::panels_of(tx, after.levels));
        Sync::plan_person(tx, pin, panels, now);
        return Changed<Person>{*tx.access().person(pin), std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<Person>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::delete_person(const std::string& pin, Reply<storage::Unit> done) {
  const auto now = clock_.now();
  store_.write(
      [pin, now](storage::Transaction& tx) {
        auto before = tx.access().person(pin);
        if (!before) throw storage::Refused(Reason::not_found, "no person with pin " + pin);
        auto panels = Sync::panels_of(tx, before->levels);
        tx.access().delete_person(pin);
        Sync::plan_person(tx, pin, panels, now);
        // A deleted person is no longer anyone's first card.
        for (auto& d : tx.access().door_settings("")) {
          if (!forget_pin(d, pin)) continue;
          d.updated_at = now;
          tx.access().put_door_settings(d);
          Sync::plan_panel(tx, d.sn, now);
          panels.push_back(d.sn);
        }
        return panels;
      },
      [this, done = std::move(done)](storage::StoreResult<std::vector<std::string>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r.value());
        done(storage::Unit{});
      });
}

std::string check_credential(const storage::Credential& c) {
  static const std::set<std::string> formats{"templatev10", "biodata", "biophoto", "userpic"};
  if (!formats.count(c.format)) return "format: one of templatev10, biodata, biophoto, userpic";
  if (c.bio_type < 0 || c.bio_type > 10) return "bio_type: 0 to 10 (Appendix 18)";
  if (c.format == "templatev10" && c.bio_type != 1) return "templatev10 holds fingerprints only";
  if (c.bio_type == 1 && (c.no < 0 || c.no > 9)) return "finger: 0 to 9";
  if (c.no < 0 || c.no > 9 || c.index < 0 || c.index > 99) return "no: 0 to 9, index: 0 to 99";
  if (!c.version.empty()) {
    const auto dot = c.version.find('.');
    auto major = p::text::parse_int(c.version.substr(0, dot));
    auto minor = dot == std::string::npos ? std::optional<std::int64_t>(0) : p::text::parse_int(c.version.substr(dot + 1));
    if (!major || !minor || *major < 0 || *minor < 0) return "version: major.minor, e.g. \"10.0\"";
  }
  if (c.content.empty()) return "the template or photo (base64) is missing";
  // The panel gets it as a field of a tab-separated record, so only base64 can travel.
  const bool base64 = std::all_of(c.content.begin(), c.content.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '+' || ch == '/' || ch == '=';
  });
  if (!base64) return "the template or photo must be base64";
  return "";
}

void Access::put_credential(const std::string& pin, const storage::Credential& credential, Reply<Person> done) {
  if (auto problem = check_credential(credential); !problem.empty())
    return done(storage::StoreError{false, problem, Reason::invalid});
  auto c = credential;
  c.created_at = clock_.now();
  c.type = credential_type_name(c.bio_type, c.format);
  change_credentials(pin, [pin, c](storage::Transaction& tx) { tx.access().put_credential(pin, c); }, std::move(done));
}

void Access::delete_credential(const std::string& pin, std::int64_t id, Reply<Person> done) {
  change_credentials(pin, [pin, id](storage::Transaction& tx) { tx.access().delete_credential(pin, id); }, std::move(done));
}

void Access::change_credentials(const std::string& pin, std::function<void(storage::Transaction&)> change,
                                Reply<Person> done) {
  const auto now = clock_.now();
  store_.write(
      [pin, change = std::move(change), now](storage::Transaction& tx) {
        auto person = tx.access().person(pin);
        if (!person) throw storage::Refused(Reason::not_found, "no person with pin " + pin);
        change(tx);
        auto panels = Sync::panels_of(tx, person->levels);
        Sync::plan_person(tx, pin, panels, now);
        return Changed<Person>{*tx.access().person(pin), std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<Person>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

// ---- time rules ------------------------------------------------------------------------------------------

namespace {

// Panels whose levels use the rule.
std::vector<std::string> panels_using_rule(storage::Transaction& tx, std::int64_t id) {
  std::vector<std::int64_t> levels;
  for (const auto& l : tx.access().levels())
    if (l.time_rule_id == id) levels.push_back(l.id);
  auto panels = Sync::panels_of(tx, levels);
  for (const auto& d : tx.access().door_settings("")) {
    const auto named = rules_named(d);
    if (std::find(named.begin(), named.end(), id) != named.end()) panels.push_back(d.sn);
  }
  std::sort(panels.begin(), panels.end());
  panels.erase(std::unique(panels.begin(), panels.end()), panels.end());
  return panels;
}

}  // namespace

void Access::create_rule(const RuleFields& fields, Reply<storage::TimeRule> done) {
  storage::TimeRule rule;
  if (fields.name) rule.name = *fields.name;
  if (fields.days) rule.days = *fields.days;
  if (auto problem = check_rule(rule); !problem.empty())
    return done(storage::StoreError{false, problem, Reason::invalid});
  store_.write(
      [rule](storage::Transaction& tx) {
        auto stored = rule;
        stored.id = tx.access().insert_time_rule(rule);
        return stored;
      },
      std::move(done));
}

void Access::update_rule(std::int64_t id, const RuleFields& fields, Reply<storage::TimeRule> done) {
  const auto now = clock_.now();
  store_.write(
      [id, fields, now](storage::Transaction& tx) {
        auto rule = tx.access().time_rule(id);
        if (!rule) throw storage::Refused(Reason::not_found, "no time rule " + std::to_string(id));
        if (fields.name) rule->name = *fields.name;
        if (fields.days) rule->days = *fields.days;
        refuse_if(check_rule(*rule));
        tx.access().update_time_rule(*rule);
        auto panels = panels_using_rule(tx, id);
        for (const auto& sn : panels) Sync::plan_panel(tx, sn, now);
        return Changed<storage::TimeRule>{*rule, std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::TimeRule>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::delete_rule(std::int64_t id, Reply<storage::Unit> done) {
  store_.write(
      [id](storage::Transaction& tx) {
        for (const auto& d : tx.access().door_settings("")) {
          const auto named = rules_named(d);
          if (std::find(named.begin(), named.end(), id) != named.end())
            throw storage::Refused(Reason::conflict, "time rule " + std::to_string(id) + " is used by " +
                                                         (d.door == 0 ? "the settings of panel " + d.sn
                                                                      : "door " + std::to_string(d.door) + " of " + d.sn));
        }
        tx.access().delete_time_rule(id);
      },
      std::move(done));
}

// ---- doors -----------------------------------------------------------------------------------------------

void Access::set_door(const std::string& sn, int door, std::string patch, Reply<storage::DoorSettings> done) {
  const auto now = clock_.now();
  store_.write(
      [sn, door, patch = std::move(patch), now](storage::Transaction& tx) {
        if (!p::is_valid_serial_number(sn)) throw storage::Refused(Reason::invalid, p::text::quoted(sn) + " is not a serial number");
        const auto device = tx.devices().get(sn);
        // A panel that registered says how many doors it has; one not seen yet may be set up ahead.
        int doors = 64;
        if (device)
          if (auto n = p::text::parse_int(p::text::trim(p::option_value(device->options, "LockCount").value_or(""))))
            if (*n > 0) doors = static_cast<int>(*n);
        if (door < 0 || door > doors)
          throw storage::Refused(Reason::not_found, sn + " has no door " + std::to_string(door) + " (doors 1 to " +
                                                        std::to_string(doors) + ")");
        auto settings = tx.access().door_setting(sn, door).value_or(storage::DoorSettings{sn, door, "", "{}", 0});
        refuse_if(apply_door_patch(settings, patch));
        for (auto id : rules_named(settings))
          if (!tx.access().time_rule(id))
            throw storage::Refused(Reason::invalid, "no time rule " + std::to_string(id));
        for (const auto& pin : pins_named(settings))
          if (!tx.access().person(pin))
            throw storage::Refused(Reason::invalid, "first_card_persons: no person with pin " + p::text::quoted(pin));
        settings.updated_at = now;
        tx.access().put_door_settings(settings);
        Sync::plan_panel(tx, sn, now);
        return Changed<storage::DoorSettings>{settings, {sn}};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::DoorSettings>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

// ---- holidays -----------------------------------------------------------------------------------------------

std::string check_holiday(const storage::Holiday& h) {
  if (h.name.empty() || h.name.size() > 64 || !one_field(h.name)) return "name: 1 to 64 bytes";
  if (!valid_date(h.start)) return "start: a date YYYY-MM-DD (2000-2099)";
  if (!valid_date(h.end)) return "end: a date YYYY-MM-DD (2000-2099)";
  if (h.end < h.start) return "end: on or after start";
  if (h.type < 1 || h.type > 3) return "type: 1, 2 or 3 (the Hol1-Hol3 periods of the time rules)";
  if (holiday_dates(h).size() > 366) return "a holiday covers at most 366 days";
  return {};
}

namespace {

void apply(storage::Holiday& h, const HolidayFields& f) {
  if (f.name) h.name = *f.name;
  if (f.start) h.start = *f.start;
  if (f.end) h.end = *f.end;
  if (f.start && !f.end) h.end = std::max(h.end, *f.start);
  if (f.type) h.type = *f.type;
  if (f.yearly) h.yearly = *f.yearly;
}

// Refused when another holiday covers one of the same dates.
void refuse_overlap(storage::Transaction& tx, const storage::Holiday& h) {
  const auto dates = holiday_dates(h);
  const std::set<std::string> mine(dates.begin(), dates.end());
  for (const auto& other : tx.access().holidays()) {
    if (other.id == h.id) continue;
    for (const auto& d : holiday_dates(other))
      if (mine.count(d))
        throw storage::Refused(Reason::conflict, "holiday " + std::to_string(other.id) + " (" + other.name +
                                                     ") already covers " + d.substr(0, 4) + "-" + d.substr(4, 2) +
                                                     "-" + d.substr(6, 2));
  }
}

}  // namespace

void Access::create_holiday(const HolidayFields& fields, Reply<storage::Holiday> done) {
  storage::Holiday h;
  apply(h, fields);
  if (auto problem = check_holiday(h); !problem.empty())
    return done(storage::StoreError{false, problem, Reason::invalid});
  const auto now = clock_.now();
  store_.write(
      [h, now](storage::Transaction& tx) {
        refuse_overlap(tx, h);
        auto stored = h;
        stored.id = tx.access().insert_holiday(h);
        auto panels = tx.access().panels();
        for (const auto& sn : panels) Sync::plan_holidays(tx, sn, now);
        return Changed<storage::Holiday>{stored, std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::Holiday>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::update_holiday(std::int64_t id, const HolidayFields& fields, Reply<storage::Holiday> done) {
  const auto now = clock_.now();
  store_.write(
      [id, fields, now](storage::Transaction& tx) {
        auto h = tx.access().holiday(id);
        if (!h) throw storage::Refused(Reason::not_found, "no holiday " + std::to_string(id));
        apply(*h, fields);
        refuse_if(check_holiday(*h));
        refuse_overlap(tx, *h);
        tx.access().update_holiday(*h);
        auto panels = tx.access().panels();
        for (const auto& sn : panels) Sync::plan_holidays(tx, sn, now);
        return Changed<storage::Holiday>{*h, std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::Holiday>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::delete_holiday(std::int64_t id, Reply<storage::Unit> done) {
  const auto now = clock_.now();
  store_.write(
      [id, now](storage::Transaction& tx) {
        tx.access().delete_holiday(id);
        auto panels = tx.access().panels();
        for (const auto& sn : panels) Sync::plan_holidays(tx, sn, now);
        return panels;
      },
      [this, done = std::move(done)](storage::StoreResult<std::vector<std::string>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r.value());
        done(storage::Unit{});
      });
}

// ---- access levels -----------------------------------------------------------------------------------------

namespace {

void normalise(storage::AccessLevel& level) {
  std::sort(level.doors.begin(), level.doors.end(),
            [](const auto& a, const auto& b) { return a.sn != b.sn ? a.sn < b.sn : a.door < b.door; });
  level.doors.erase(std::unique(level.doors.begin(), level.doors.end()), level.doors.end());
}

std::vector<std::string> panels_of_level(const storage::AccessLevel& level) {
  std::vector<std::string> out;
  for (const auto& d : level.doors) out.push_back(d.sn);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

void Access::create_level(const LevelFields& fields, Reply<storage::AccessLevel> done) {
  storage::AccessLevel level;
  if (fields.name) level.name = *fields.name;
  if (fields.time_rule_id) level.time_rule_id = *fields.time_rule_id;
  if (fields.doors) level.doors = *fields.doors;
  normalise(level);
  if (auto problem = check_level(level); !problem.empty())
    return done(storage::StoreError{false, problem, Reason::invalid});
  const auto now = clock_.now();
  store_.write(
      [level, now](storage::Transaction& tx) {
        if (!tx.access().time_rule(level.time_rule_id))
          throw storage::Refused(Reason::invalid, "time rule " + std::to_string(level.time_rule_id) + " does not exist");
        auto stored = level;
        stored.id = tx.access().insert_level(level);
        auto panels = panels_of_level(stored);
        for (const auto& sn : panels) Sync::plan_panel(tx, sn, now);
        return Changed<storage::AccessLevel>{stored, std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::AccessLevel>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::update_level(std::int64_t id, const LevelFields& fields, Reply<storage::AccessLevel> done) {
  const auto now = clock_.now();
  store_.write(
      [id, fields, now](storage::Transaction& tx) {
        auto before = tx.access().level(id);
        if (!before) throw storage::Refused(Reason::not_found, "no access level " + std::to_string(id));
        auto after = *before;
        if (fields.name) after.name = *fields.name;
        if (fields.time_rule_id) after.time_rule_id = *fields.time_rule_id;
        if (fields.doors) after.doors = *fields.doors;
        normalise(after);
        refuse_if(check_level(after));
        if (!tx.access().time_rule(after.time_rule_id))
          throw storage::Refused(Reason::invalid, "time rule " + std::to_string(after.time_rule_id) + " does not exist");
        tx.access().update_level(after);
        auto panels = merged(panels_of_level(*before), panels_of_level(after));
        for (const auto& sn : panels) Sync::plan_panel(tx, sn, now);
        return Changed<storage::AccessLevel>{after, std::move(panels)};
      },
      [this, done = std::move(done)](storage::StoreResult<Changed<storage::AccessLevel>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r->panels);
        done(std::move(r->value));
      });
}

void Access::delete_level(std::int64_t id, Reply<storage::Unit> done) {
  const auto now = clock_.now();
  store_.write(
      [id, now](storage::Transaction& tx) {
        auto before = tx.access().level(id);
        if (!before) throw storage::Refused(Reason::not_found, "no access level " + std::to_string(id));
        tx.access().delete_level(id);
        auto panels = panels_of_level(*before);
        for (const auto& sn : panels) Sync::plan_panel(tx, sn, now);
        return panels;
      },
      [this, done = std::move(done)](storage::StoreResult<std::vector<std::string>> r) {
        if (!r.ok()) return done(r.error());
        sync_.changed(r.value());
        done(storage::Unit{});
      });
}

// ---- global anti-passback ------------------------------------------------------------------------------

namespace {

void check_zone(const storage::ApbZone& zone) {
  if (zone.name.empty() || zone.name.size() > 64) throw storage::Refused(Reason::invalid, "name: 1 to 64 characters");
  // The name goes into the TIPS line a panel shows: no line breaks, tabs or other control characters.
  for (unsigned char ch : zone.name)
    if (ch < 0x20 || ch == 0x7F) throw storage::Refused(Reason::invalid, "name: no control characters (line breaks, tabs)");
  if (zone.mode != "logical" && zone.mode != "timed") throw storage::Refused(Reason::invalid, "mode: logical or timed");
  if (zone.mode == "timed" && (zone.minutes < 1 || zone.minutes > 1440))
    throw storage::Refused(Reason::invalid, "minutes: 1 to 1440 for a timed zone");
  if (zone.doors.empty()) throw storage::Refused(Reason::invalid, "doors: at least one entry door");
  bool entry = false;
  for (const auto& d : zone.doors) {
    if (d.sn.empty() || d.door < 1 || d.door > 64) throw storage::Refused(Reason::invalid, "doors: each {sn, door 1-64, direction}");
    if (d.direction != "in" && d.direction != "out" && d.direction != "reader")
      throw storage::Refused(Reason::invalid, "doors: direction in, out or reader (the reader that reads says which)");
    entry = entry || d.direction == "in" || d.direction == "reader";
  }
  if (!entry) throw storage::Refused(Reason::invalid, "doors: at least one entry door (direction in)");
}

}  // namespace

void Access::create_zone(storage::ApbZone zone, Reply<storage::ApbZone> done) {
  store_.write(
      [zone = std::move(zone)](storage::Transaction& tx) {
        check_zone(zone);
        const auto id = tx.access().insert_apb_zone(zone);
        return *tx.access().apb_zone(id);
      },
      std::move(done));
}

void Access::update_zone(std::int64_t id, std::function<void(storage::ApbZone&)> change, Reply<storage::ApbZone> done) {
  store_.write(
      [id, change = std::move(change)](storage::Transaction& tx) {
        auto zone = tx.access().apb_zone(id);
        if (!zone) throw storage::Refused(Reason::not_found, "no anti-passback zone " + std::to_string(id));
        change(*zone);
        zone->id = id;
        check_zone(*zone);
        tx.access().update_apb_zone(*zone);
        return *tx.access().apb_zone(id);
      },
      std::move(done));
}

void Access::delete_zone(std::int64_t id, Reply<storage::Unit> done) {
  store_.write([id](storage::Transaction& tx) { tx.access().delete_apb_zone(id); }, std::move(done));
}

void Access::reset_zone(std::int64_t id, const std::string& pin, Reply<std::int64_t> done) {
  store_.write(
      [id, pin](storage::Transaction& tx) {
        if (!tx.access().apb_zone(id)) throw storage::Refused(Reason::not_found, "no anti-passback zone " + std::to_string(id));
        return tx.access().reset_apb(id, pin);
      },
      std::move(done));
}

// ---- import --------------------------------------------------------------------------------------------

std::int64_t Access::import_persons(std::vector<ImportRow> rows) {
  const auto id = jobs_.start("person_import", static_cast<std::int64_t>(rows.size()), clock_.now());
  auto shared = std::make_shared<const std::vector<ImportRow>>(std::move(rows));
  if (shared->empty()) {
    jobs_.update(id, [this](JobStatus& j) {
      j.state = "done";
      j.finished_at = clock_.now();
    });
    return id;
  }
  import_chunk(id, std::move(shared), 0);
  return id;
}

void Access::import_chunk(std::int64_t job, std::shared_ptr<const std::vector<ImportRow>> rows, std::size_t from) {
  struct Outcome {
    std::int64_t created = 0, updated = 0;
    std::vector<JobRowError> errors;
    std::vector<std::string> panels;
  };
  const auto now = clock_.now();
  const std::size_t to = std::min(rows->size(), from + kImportChunk);
  store_.write(
      [rows, from, to, now](storage::Transaction& tx) {
        Outcome out;
        // The same few levels for thousands of rows: read each once per unit of work.
        std::map<std::int64_t, std::optional<storage::AccessLevel>> levels;
        auto level = [&](std::int64_t id) -> const std::optional<storage::AccessLevel>& {
          auto it = levels.find(id);
          if (it == levels.end()) it = levels.emplace(id, tx.access().level(id)).first;
          return it->second;
        };
        std::set<std::string> panels;
        for (std::size_t i = from; i < to; ++i) {
          const auto& row = (*rows)[i];
          auto fail = [&](std::string error) { out.errors.push_back(JobRowError{row.row, row.pin, std::move(error)}); };
          if (!row.problem.empty()) {
            fail(row.problem);
            continue;
          }
          if (auto e = check_pin(row.pin); !e.empty()) {
            fail(e);
            continue;
          }
          const auto before = tx.access().person(row.pin);
          Person after = before ? *before : Person{};
          after.pin = row.pin;
          apply(after, row.fields);
          after.updated_at = now;
          if (!before) after.created_at = now;
          std::string problem = check_person(after);
          for (auto id : after.levels)
            if (problem.empty() && !level(id)) problem = "access level " + std::to_string(id) + " does not exist";
          for (const auto& card : after.cards) {
            if (!problem.empty()) break;
            auto owner = tx.access().card_owner(card.number);
            if (owner && *owner != row.pin) problem = "card " + card.number + " belongs to person " + *owner;
          }
          if (!problem.empty()) {
            fail(problem);
            continue;
          }
          if (before) {
            tx.access().update_person(after);
            ++out.updated;
          } else {
            tx.access().insert_person(after);
            ++out.created;
          }
          std::vector<storage::AccessLevel> held;
          std::set<std::string> affected;
          for (auto id : after.levels)
            if (const auto& l = level(id)) {
              held.push_back(*l);
              for (const auto& d : l->doors) affected.insert(d.sn);
            }
          if (before)
            for (auto id : before->levels)
              if (const auto& l = level(id))
                for (const auto& d : l->doors) affected.insert(d.sn);
          const std::vector<std::string> concerned(affected.begin(), affected.end());
          Sync::plan_person_with(tx, &after, held, concerned, now);
          panels.insert(affected.begin(), affected.end());
        }
        out.panels.assign(panels.begin(), panels.end());
        return out;
      },
      [this, job, rows, to](storage::StoreResult<Outcome> r) {
        if (!r.ok()) {
          spdlog::error("person import job {} stopped at row {}: {}", job, to, r.error().message);
          jobs_.update(job, [&](JobStatus& j) {
            j.state = "failed";
            j.error = r.error().message;
            j.finished_at = clock_.now();
          });
          return;
        }
        sync_.changed(r->panels);
        const bool last = to >= rows->size();
        jobs_.update(job, [&](JobStatus& j) {
          j.processed = static_cast<std::int64_t>(to);
          j.created += r->created;
          j.updated += r->updated;
          j.failed += static_cast<std::int64_t>(r->errors.size());
          for (auto& e : r->errors)
            if (j.errors.size() < Jobs::kMaxErrors) j.errors.push_back(std::move(e));
          if (last) {
            j.state = "done";
            j.finished_at = clock_.now();
          }
        });
        if (last) {
          const auto status = jobs_.get(job);
          if (status)
            spdlog::info("person import job {}: {} created, {} updated, {} failed", job, status->created,
                         status->updated, status->failed);
          return;
        }
        import_chunk(job, rows, to);
      });
}

// ---- panel enrolment ---------------------------------------------------------------------------------------

namespace {

// What a panel uploaded that queues commands for other panels (the one way device input reaches
// another device's queue, as panel_enrolment allows) is audited in the same unit of work: actor
// "device <SN>", the pins, and the panels it goes to.
void access_audit_enrolment(storage::Transaction& tx, const std::string& sn, const std::string& table,
                            const std::vector<std::string>& pins, const std::vector<std::string>& panels,
                            std::int64_t now) {
  std::string others;
  for (const auto& panel : panels) {
    if (panel != sn) others += (others.empty() ? "" : ",") + panel;
  }
  if (others.empty()) return;
  std::string who;
  for (const auto& pin : pins) who += (who.empty() ? "" : ",") + pin;
  storage::AuditEntry entry;
  entry.at = now;
  entry.actor = "device " + sn;
  entry.method = "PUSH";
  entry.target = "tabledata " + p::text::printable(table, 32) + " pin " + who + " -> panels " + others;
  entry.operation = "panelEnrolment";
  entry.status = 200;
  tx.audit().append(entry);
}

}  // namespace

std::vector<std::string> Access::adopt_users(storage::Transaction& tx, Enrolment policy, const std::string& sn,
                                             const std::vector<p::Record>& records, std::int64_t now) {
  std::vector<std::string> panels;
  if (policy == Enrolment::ignore) return panels;
  for (const auto& record : records) {
    const std::string pin(p::text::trim(record.get_or("pin", "")));
    if (!check_pin(pin).empty()) continue;
    // The card as a decimal number: panels upload either form.
    std::optional<storage::Card> card;
    if (auto parsed = p::parse_card_number(p::text::trim(record.get_or("cardno", ""))); parsed && parsed->value != 0)
      card = storage::Card{std::to_string(parsed->value), false};
    if (card) {
      auto owner = tx.access().card_owner(card->number);
      if (owner && *owner != pin) {
        spdlog::warn("{}: uploaded user {} carries card {}, which belongs to person {}: card not adopted", sn, pin,
                     card->number, *owner);
        card.reset();
      }
    }
    auto known = tx.access().person(pin);
    if (!known) {
      Person person;
      person.pin = pin;
      const std::string name(record.get_or("name", ""));
      if (name.size() <= 64 && one_field(name)) person.name = name;
      const std::string password(record.get_or("password", ""));
      if (password.size() <= 8 && all_of_chars(password, [](unsigned char c) { return std::isdigit(c) != 0; }))
        person.password = password;
      if (auto privilege = record.get_int("privilege"); privilege && (*privilege == 0 || *privilege == 2 ||
                                                                      *privilege == 6 || *privilege == 10 || *privilege == 14))
        person.privilege = static_cast<int>(*privilege);
      if (card) person.cards.push_back(*card);
      person.enrolled_at = sn;
      person.created_at = person.updated_at = now;
      tx.access().insert_person(person);
      spdlog::info("{}: user {} enrolled at the panel adopted as a new person{}", sn, pin,
                   card ? " with card " + card->number : "");
      continue;
    }
    if (policy != Enrolment::all || !card) continue;
    const bool held = std::any_of(known->cards.begin(), known->cards.end(),
                                  [&](const storage::Card& c) { return c.number == card->number; });
    if (held) continue;
    Person after = *known;
    after.cards.push_back(*card);
    after.updated_at = now;
    tx.access().update_person(after);
    auto affected = Sync::panels_of(tx, after.levels);
    Sync::plan_person(tx, pin, affected, now);
    access_audit_enrolment(tx, sn, "user", {pin}, affected, now);
    panels = merged(std::move(panels), affected);
    spdlog::info("{}: card {} enrolled at the panel added to person {} (panel_enrolment all)", sn, card->number, pin);
  }
  return panels;
}

std::vector<std::string> Access::adopt_credentials(storage::Transaction& tx, Enrolment policy, const std::string& sn,
                                                   const std::string& table, const std::vector<p::Record>& records,
                                                   std::int64_t now) {
  std::vector<std::string> panels;
  if (policy == Enrolment::ignore) return panels;
  std::set<std::string> changed;
  for (const auto& record : records) {
    auto uploaded = credential_from_upload(table, record, sn, now);
    if (!uploaded) continue;
    auto person = tx.access().person(uploaded->pin);
    if (!person) {
      spdlog::info("{}: {} of unknown pin {} not adopted (its user row comes first)", sn, table, uploaded->pin);
      continue;
    }
    // A person adopted from this panel takes what this panel enrols for it; anyone else only
    // under `all` (a panel must not plant credentials on an existing person's other doors).
    if (person->enrolled_at != sn && policy != Enrolment::all) {
      spdlog::info("{}: {} of person {} not adopted (panel_enrolment {}; the person was not enrolled here)", sn, table,
                   uploaded->pin, policy == Enrolment::new_persons_only ? "new_persons_only" : "all");
      continue;
    }
    const bool same = std::any_of(person->credentials.begin(), person->credentials.end(), [&](const auto& c) {
      return c.bio_type == uploaded->credential.bio_type && c.no == uploaded->credential.no &&
             c.index == uploaded->credential.index && c.format == uploaded->credential.format &&
             c.content == uploaded->credential.content;
    });
    if (same) continue;
    tx.access().put_credential(uploaded->pin, uploaded->credential);
    changed.insert(uploaded->pin);
    spdlog::info("{}: {} {} {} enrolled at the panel added to person {}", sn, uploaded->credential.type,
                 uploaded->credential.format, uploaded->credential.no, uploaded->pin);
  }
  for (const auto& pin : changed) {
    auto person = tx.access().person(pin);
    if (!person) continue;
    auto affected = Sync::panels_of(tx, person->levels);
    Sync::plan_person(tx, pin, affected, now);
    access_audit_enrolment(tx, sn, table, {pin}, affected, now);
    panels = merged(std::move(panels), affected);
  }
  return panels;
}

}  // namespace zkpush::service
