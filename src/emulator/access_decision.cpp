#include "emulator/access_decision.hpp"

#include <array>
#include <tuple>

#include "protocol/codecs_card.hpp"
#include "protocol/codecs_doors.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace p = protocol;

namespace {

bool same_card(std::string_view stored, std::string_view presented) {
  if (stored.empty() || presented.empty()) return false;
  auto a = p::parse_card_number(stored);
  auto b = p::parse_card_number(presented);
  if (a && b) return a->value == b->value && a->form != p::CardForm::none;
  // mulcarduser cards may be long hex strings (DF349C3BEA5277ED): compare the text.
  return p::text::iequals(stored, presented);
}

std::tuple<int, int, int, int, int, int> key(const p::CivilTime& t) {
  return {t.year, t.month, t.day, t.hour, t.minute, t.second};
}

// Within [StartTime, EndTime] of a record; bounds in zktime or YYYYMMDD, 0 = none. An end given as a
// date covers that whole day.
bool within_validity(const p::Record& r, const p::CivilTime& now) {
  if (auto s = r.get("StartTime")) {
    if (auto v = p::guess_validity_time(*s); v && v->form != p::ValidityForm::unlimited) {
      if (key(now) < key(v->time)) return false;
    }
  }
  if (auto e = r.get("EndTime")) {
    if (auto v = p::guess_validity_time(*e); v && v->form != p::ValidityForm::unlimited) {
      p::CivilTime end = v->time;
      if (v->form == p::ValidityForm::date8) {
        end.hour = 23;
        end.minute = 59;
        end.second = 59;
      }
      if (key(end) < key(now)) return false;
    }
  }
  return true;
}

// HolidayType (1-3) of today, 0 when today is no holiday.
int holiday_type(const DeviceModel& model, const p::CivilTime& now) {
  for (const auto& h : model.rows("holiday")) {
    auto date = p::parse_date8(h.get_or("Holiday", ""));
    if (!date) continue;
    const bool yearly = h.get_or("Loop", "1") == "1";
    if (date->month == now.month && date->day == now.day && (yearly || date->year == now.year)) {
      auto type = h.get_int("HolidayType").value_or(1);
      return (type >= 1 && type <= 3) ? static_cast<int>(type) : 1;
    }
  }
  return 0;
}

bool in_time_rule(const DeviceModel& model, std::string_view rule_id, const p::CivilTime& now) {
  const p::Record* rule = model.find("timezone", "TimezoneId", rule_id);
  if (rule == nullptr) return rule_id == "1";
  if (!within_validity(*rule, now)) return false;
  static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const int hol = holiday_type(model, now);
  const std::string day = hol > 0 ? "Hol" + std::to_string(hol) : std::string(days[static_cast<std::size_t>(day_of_week(now))]);
  const int minute_of_day = now.hour * 60 + now.minute;
  for (int n = 1; n <= 3; ++n) {
    auto value = rule->get(day + "Time" + std::to_string(n));
    if (!value) continue;
    auto segment = p::decode_time_segment(*value);
    if (!segment || segment->empty()) continue;
    const int from = segment->start_hour * 60 + segment->start_minute;
    const int to = segment->end_hour * 60 + segment->end_minute;
    if (minute_of_day >= from && minute_of_day <= to) return true;
  }
  return false;
}

bool covers_door(const DeviceModel& model, std::string_view value, int door) {
  // AccSupportFunList position 15 set: one door number per record instead of a mask.
  const auto fun = model.option("AccSupportFunList").value_or("");
  const bool one_door = fun.size() > 15 && fun[15] == '1';
  auto doors = p::parse_authorize_doors(value, one_door);
  if (!doors) return false;
  for (int d : *doors) {
    if (d == door) return true;
  }
  return false;
}

}  // namespace

int day_of_week(const p::CivilTime& t) noexcept {
  // Sakamoto's method.
  static constexpr int offsets[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  int y = t.year;
  if (t.month < 3) y -= 1;
  return (y + y / 4 - y / 100 + y / 400 + offsets[(t.month - 1) % 12] + t.day) % 7;
}

AccessDecision decide_access(const DeviceModel& model, const Credential& credential, int door, const p::CivilTime& now) {
  AccessDecision d;
  if (!credential.cardno.empty()) d.cardno = credential.cardno;

  const p::Record* user = nullptr;
  if (!credential.cardno.empty()) {
    for (const auto& u : model.rows("user")) {
      if (same_card(u.get_or("CardNo", ""), credential.cardno)) {
        user = &u;
        break;
      }
    }
    if (user == nullptr) {
      for (const auto& c : model.rows("mulcarduser")) {
        if (!same_card(c.get_or("CardNo", ""), credential.cardno)) continue;
        if (c.get_or("LossCardFlag", "0") == "1") {
          d.pin = std::string(c.get_or("Pin", "0"));
          d.event = event_code::card_lost;
          return d;
        }
        user = model.find("user", "Pin", c.get_or("Pin", ""));
        break;
      }
    }
  } else if (!credential.pin.empty()) {
    user = model.find("user", "Pin", credential.pin);
  }
  if (user == nullptr) {
    d.event = event_code::not_registered;
    return d;
  }
  d.pin = std::string(user->get_or("Pin", "0"));
  if (user->get_or("Disable", "0") == "1") {
    d.event = event_code::blacklisted;
    return d;
  }
  if (!within_validity(*user, now)) {
    d.event = event_code::expired;
    return d;
  }
  bool door_listed = false;
  bool valid_privilege = false;
  for (const auto& a : model.rows("userauthorize")) {
    if (a.get_or("Pin", "") != d.pin || !covers_door(model, a.get_or("AuthorizeDoorId", ""), door)) continue;
    door_listed = true;
    if (!within_validity(a, now)) continue;
    valid_privilege = true;
    if (in_time_rule(model, a.get_or("AuthorizeTimezoneId", "1"), now)) {
      // A door locked by CONTROL DEVICE 06 stays shut whoever comes.
      const bool locked = door >= 1 && door <= model.door_count() && model.door(door).locked;
      d.event = locked ? event_code::door_locked : event_code::granted;
      return d;
    }
  }
  d.event = !door_listed ? event_code::unauthorized : (valid_privilege ? event_code::outside_time_period : event_code::expired);
  return d;
}

}  // namespace zkpush::emulator
