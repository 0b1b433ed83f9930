#include "service/remote_auth.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "protocol/control_device.hpp"
#include "protocol/text.hpp"
#include "service/devices.hpp"
#include "service/ingest.hpp"
#include "service/live.hpp"

namespace zkpush::service {

namespace p = protocol;

namespace {

// 0 = Sunday, as the time rules' days (Sakamoto's method).
int weekday(const p::CivilTime& t) noexcept {
  static constexpr int offsets[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  int y = t.year - (t.month < 3 ? 1 : 0);
  return (y + y / 4 - y / 100 + y / 400 + offsets[t.month - 1] + t.day) % 7;
}

std::string date_of(const p::CivilTime& t) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", t.year, t.month, t.day);
  return text;
}

// The holiday type (1-3) of the date, 0 for none. A yearly holiday matches its month and day.
int holiday_type(std::span<const storage::Holiday> holidays, const p::CivilTime& local) {
  const std::string date = date_of(local);
  const std::string month_day = date.substr(5);
  for (const auto& h : holidays) {
    if (h.start.size() < 10 || h.end.size() < 10) continue;
    const bool on = h.yearly ? (h.start.substr(5) <= h.end.substr(5)
                                    ? h.start.substr(5) <= month_day && month_day <= h.end.substr(5)
                                    : month_day >= h.start.substr(5) || month_day <= h.end.substr(5))  // across new year
                             : h.start <= date && date <= h.end;
    if (on) return std::clamp(h.type, 1, 3);
  }
  return 0;
}

bool meaningful(std::string_view value) { return !value.empty() && value != "0"; }

std::string first_name(const std::string& name) {
  const auto space = name.find(' ');
  return space == std::string::npos ? name : name.substr(0, space);
}

AuthDecision refused(int event, std::string reason, std::string tips, std::string pin = "") {
  AuthDecision d;
  d.result = p::AuthResult::failed;
  d.event = event;
  d.reason = std::move(reason);
  d.tips = std::move(tips);
  d.pin = std::move(pin);
  return d;
}

int drive_time_of(const std::optional<storage::DoorSettings>& settings) {
  if (!settings) return 0;
  auto json = nlohmann::json::parse(settings->settings, nullptr, false);
  if (!json.is_object()) return 0;
  auto it = json.find("drive_time");
  return it != json.end() && it->is_number_integer() ? it->get<int>() : 0;
}

// The code of the decision already recorded for this very request (same panel, time, card or pin,
// door), if any.
std::optional<int> earlier_decision(storage::Transaction& tx, const std::string& sn, const p::Record& record, int tz,
                                    int door) {
  const auto asked = event_from_record(record, sn, tz, "remote_auth", 0);
  if (!asked.time_utc) return std::nullopt;
  storage::EventFilter same;
  same.sn = sn;
  same.from = asked.time_utc;
  same.to = *asked.time_utc + 1;
  if (meaningful(asked.cardno)) same.cardno = asked.cardno;
  same.door = door;
  // No limit: one second of one device's events, straight from its (sn, time) index. A limit would
  // first walk the device's events in id order (the store's plan for paged time ranges), hundreds
  // of rows for every decision.
  same.limit = 0;
  for (const auto& e : tx.events().list(same)) {
    if (e.source != "remote_auth" || !e.event || e.time_local != asked.time_local) continue;
    if (!meaningful(asked.cardno) && e.pin != asked.pin) continue;
    return static_cast<int>(*e.event);
  }
  return std::nullopt;
}

}  // namespace

std::string apb_direction(const storage::ApbZone& zone, const std::string& sn, int door, int inout) {
  for (const auto& d : zone.doors) {
    if (d.sn != sn || d.door != door) continue;
    if (d.direction != "reader") return d.direction;
    // A door with an entry and an exit reader: the reader that read says which way (inoutstatus).
    return inout == 0 ? "in" : inout == 1 ? "out" : "";
  }
  return "";
}

storage::ApbPresence apb_after(const storage::ApbZone& zone, const std::optional<storage::ApbPresence>& before,
                               const std::string& pin, const std::string& direction, std::int64_t now) {
  storage::ApbPresence p = before.value_or(storage::ApbPresence{zone.id, pin, false, 0, 0});
  p.zone_id = zone.id;
  p.pin = pin;
  if (direction == "in") {
    p.inside = true;
    p.entered_at = now;
  } else if (direction == "out") {
    p.inside = false;
    p.exited_at = now;
  }
  return p;
}

bool rule_allows(const storage::TimeRule& rule, std::span<const storage::Holiday> holidays, const p::CivilTime& local) {
  const int type = holiday_type(holidays, local);
  const std::size_t day = type > 0 ? static_cast<std::size_t>(6 + type) : static_cast<std::size_t>(weekday(local));
  const int minute = local.hour * 60 + local.minute;
  // A period's end is its last minute, included: 00:00-23:59 is the whole day.
  for (const auto& period : rule.days.at(day))
    if (period.start <= minute && minute <= period.end) return true;
  return false;
}

AuthDecision decide_remote_auth(const AuthFacts& facts, const std::string& sn, int door, const p::CivilTime& local) {
  if (!facts.person) return refused(event_code::not_registered, "unknown", "Unknown card");
  const storage::Person& person = *facts.person;
  const std::string& who = person.name.empty() ? person.pin : first_name(person.name);
  if (facts.card_lost) return refused(event_code::card_lost, "card_lost", "Card blocked", person.pin);
  if (person.disabled) return refused(event_code::blacklisted, "disabled", "Access disabled, " + who, person.pin);
  const std::string date = date_of(local);
  if ((!person.valid_from.empty() && date < person.valid_from) || (!person.valid_until.empty() && date > person.valid_until))
    return refused(event_code::expired, "not_valid", "Not valid today, " + who, person.pin);
  bool holds_door = false;
  for (const auto& level : facts.levels) {
    const bool here = std::any_of(level.doors.begin(), level.doors.end(),
                                  [&](const storage::LevelDoor& d) { return d.sn == sn && d.door == door; });
    if (!here) continue;
    holds_door = true;
    auto rule = std::find_if(facts.rules.begin(), facts.rules.end(),
                             [&](const storage::TimeRule& r) { return r.id == level.time_rule_id; });
    if (rule != facts.rules.end() && rule_allows(*rule, facts.holidays, local)) {
      // Allowed by the domain; global anti-passback may still refuse an entry.
      for (std::size_t i = 0; i < facts.zones.size(); ++i) {
        const auto& zone = facts.zones[i];
        if (apb_direction(zone, sn, door, facts.inout) != "in") continue;
        const auto& here = i < facts.presences.size() ? facts.presences[i] : std::nullopt;
        if (!here) continue;
        if (zone.mode == "timed") {
          if (here->entered_at > 0 && facts.now - here->entered_at < static_cast<std::int64_t>(zone.minutes) * 60)
            return refused(event_code::anti_passback, "anti_passback", "Entered " + zone.name + " recently, " + who, person.pin);
        } else if (here->inside) {
          return refused(event_code::anti_passback, "anti_passback", "Already inside " + zone.name + ", " + who, person.pin);
        }
      }
      AuthDecision d;
      d.result = p::AuthResult::success;
      d.event = event_code::remote_granted;
      d.reason = "granted";
      d.tips = "Welcome, " + who;
      d.pin = person.pin;
      d.open_seconds = facts.drive_time > 0 ? std::min(facts.drive_time, 254) : RemoteAuth::kDefaultOpenSeconds;
      return d;
    }
  }
  if (!holds_door) return refused(event_code::unauthorized, "no_access", "No access to this door, " + who, person.pin);
  return refused(event_code::outside_time_period, "outside_time", "Not allowed at this time, " + who, person.pin);
}

void RemoteAuth::identify(const std::string& sn, const p::Record& record, std::function<void(p::RemoteAuthAnswer)> done) {
  const std::string card(record.get_or("cardno", ""));
  const std::string pin(record.get_or("pin", ""));
  const auto door_number = p::text::parse_int(record.get_or("eventaddr", ""));
  const int door = door_number ? static_cast<int>(*door_number) : 0;
  const auto inout_status = p::text::parse_int(record.get_or("inoutstatus", ""));
  const int inout = inout_status ? static_cast<int>(*inout_status) : -1;
  // The server's clock in the panel's zone: a panel's own clock may be wrong, and the record's time
  // is only its claim.
  int tz = 0;
  if (auto state = devices_.get(sn)) tz = devices_.tz_minutes(*state->device);
  const std::int64_t now = clock_.now();
  const auto local = p::civil_from_unix(now + static_cast<std::int64_t>(tz) * 60);

  auto pending = std::make_shared<Pending>();
  pending->deadline = WaitClock::now() + deadline_;
  pending->sn = sn;
  pending->record = record;
  pending->done = std::move(done);
  std::uint64_t id = 0;
  bool first = false;
  {
    std::lock_guard lock(pending_mutex_);
    id = next_id_++;
    first = pending_.empty();
    pending_.emplace(id, pending);
  }
  // Only the first changes the earliest deadline (all wait the same time).
  if (first && pending_hook_) pending_hook_();

  struct Outcome {
    bool decided = false;  // false: the deadline passed before the store reached the request
    AuthDecision decision;
  };
  store_.write(
      [=](storage::Transaction& tx) {
        Outcome out;
        int expected = Pending::waiting;
        if (!pending->state.compare_exchange_strong(expected, Pending::deciding)) return out;
        out.decided = true;
        auto& access = tx.access();
        AuthFacts facts;
        std::optional<std::string> owner;
        if (meaningful(card)) owner = access.card_owner(card);
        else if (meaningful(pin)) owner = pin;
        if (owner) facts.person = access.person(*owner);
        if (facts.person) {
          for (const auto& c : facts.person->cards)
            if (c.number == card) facts.card_lost = c.lost;
          std::set<std::int64_t> rules;
          for (auto id : facts.person->levels) {
            if (auto level = access.level(id)) {
              rules.insert(level->time_rule_id);
              facts.levels.push_back(std::move(*level));
            }
          }
          for (auto id : rules)
            if (auto rule = access.time_rule(id)) facts.rules.push_back(std::move(*rule));
          facts.holidays = access.holidays();
          facts.drive_time = drive_time_of(access.door_setting(sn, door));
          facts.zones = access.apb_zones_at(sn, door);
          for (const auto& zone : facts.zones) facts.presences.push_back(access.apb_presence(zone.id, facts.person->pin));
          facts.now = now;
          facts.inout = inout;
        }
        // The same request again (the panel lost the answer, or timed out and asks anew): the
        // decision already taken stands, nothing is recorded twice, and where persons stand is not
        // moved again (a lost answer must not lock someone out of a zone).
        if (auto earlier = earlier_decision(tx, sn, record, tz, door)) {
          const std::string pin = facts.person ? facts.person->pin : "";
          if (*earlier == event_code::remote_granted) {
            out.decision.result = p::AuthResult::success;
            out.decision.event = event_code::remote_granted;
            out.decision.reason = "granted";
            out.decision.tips = facts.person ? "Welcome, " + first_name(facts.person->name.empty() ? pin : facts.person->name)
                                             : "Welcome";
            out.decision.pin = pin;
            out.decision.open_seconds = facts.drive_time > 0 ? std::min(facts.drive_time, 254) : kDefaultOpenSeconds;
          } else {
            out.decision = refused(*earlier, "repeated", "Refused", pin);
          }
          return out;
        }
        out.decision = local ? decide_remote_auth(facts, sn, door, *local)
                             : refused(event_code::not_registered, "unknown", "Unknown card");
        // The decision is an access event of its own: the request's record with its code and the
        // person identified.
        p::Record decided = record;
        decided.set("event", std::to_string(out.decision.event));
        if (!out.decision.pin.empty()) decided.set("pin", out.decision.pin);
        tx.events().insert({event_from_record(decided, sn, tz, "remote_auth", now)});
        // Granted: the person is now inside (or out of) each zone of that door.
        if (out.decision.result == p::AuthResult::success) {
          for (std::size_t i = 0; i < facts.zones.size(); ++i) {
            const auto direction = apb_direction(facts.zones[i], sn, door, facts.inout);
            if (!direction.empty())
              access.put_apb_presence(apb_after(facts.zones[i], facts.presences[i], out.decision.pin, direction, now));
          }
        }
        return out;
      },
      [this, sn, record, door, pending, id](storage::StoreResult<Outcome> r) {
        forget(id);
        if (!r.ok()) {
          // A unit of work that failed recorded nothing; unless the sweep answered already.
          int expected = Pending::waiting;
          if (!pending->state.compare_exchange_strong(expected, Pending::timed_out) && expected != Pending::deciding) return;
          spdlog::error("{}: remote identification: store failed: {}", sn, r.error().message);
          timeouts_.fetch_add(1, std::memory_order_relaxed);
          return pending->done(timeout_answer(record));
        }
        if (!r->decided) return;  // answered TIMEOUT by the sweep
        p::RemoteAuthAnswer answer;
        answer.event = record;
        const AuthDecision& d = r->decision;
        // "The data that passes identification": the record, with the person identified.
        if (!d.pin.empty()) answer.event->set("pin", d.pin);
        if (live_) live_->ring(Live::Ring::messages);
        answer.auth = d.result;
        answer.tips = d.tips;
        if (d.result == p::AuthResult::success) {
          auto open = p::ControlDevice::open_door(static_cast<unsigned>(door), static_cast<unsigned>(d.open_seconds));
          if (open) {
            answer.control = p::format_control_device(*open);
          } else {  // a door the CONTROL DEVICE line cannot name (0, above 16): granted, not opened here
            spdlog::warn("{}: remote identification granted at door {}, which no CONTROL DEVICE can open", sn, door);
          }
        }
        spdlog::debug("{}: remote identification at door {}: {} ({})", sn, door, p::auth_result_name(d.result), d.reason);
        pending->done(std::move(answer));
      });
}

p::RemoteAuthAnswer RemoteAuth::timeout_answer(const p::Record& record) {
  p::RemoteAuthAnswer answer;
  answer.event = record;
  answer.auth = p::AuthResult::timeout;
  answer.tips = "Server busy, try again";
  return answer;
}

void RemoteAuth::forget(std::uint64_t id) {
  std::lock_guard lock(pending_mutex_);
  pending_.erase(id);
}

void RemoteAuth::sweep() {
  const auto now = WaitClock::now();
  std::vector<std::shared_ptr<Pending>> overdue;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto it = pending_.begin(); it != pending_.end() && it->second->deadline <= now;) {
      int expected = Pending::waiting;
      // One the store is deciding now is answered with its decision (it is about to commit).
      if (it->second->state.compare_exchange_strong(expected, Pending::timed_out)) overdue.push_back(it->second);
      it = pending_.erase(it);
    }
  }
  for (auto& req : overdue) {
    timeouts_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{}: remote identification: no decision within {} ms (store slow or unavailable): TIMEOUT", req->sn,
                 deadline_.count());
    req->done(timeout_answer(req->record));
  }
}

void RemoteAuth::end_pending() {
  std::vector<std::shared_ptr<Pending>> left;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto& entry : pending_) {
      int expected = Pending::waiting;
      if (entry.second->state.compare_exchange_strong(expected, Pending::timed_out)) left.push_back(entry.second);
    }
    pending_.clear();
  }
  for (auto& req : left) req->done(timeout_answer(req->record));
}

std::optional<RemoteAuth::WaitClock::time_point> RemoteAuth::next_deadline() const {
  std::lock_guard lock(pending_mutex_);
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->second->deadline;
}

}  // namespace zkpush::service
