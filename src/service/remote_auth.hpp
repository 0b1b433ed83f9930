// Remote identification (manual 10, `POST /iclock/cdata?SN=..&AuthType=device`): a panel set to ask
// the server sends the card or user it has just read at a door, and the server decides from the
// access domain — the person or card (a lost card is refused), a disabled person, the validity
// period, an access level holding that door, the level's time rule with holidays, all in the
// panel's time zone — and answers AUTH=SUCCESS with the CONTROL DEVICE line that opens the door
// for its drive time, or AUTH=FAILED, each with a TIPS text the panel can show.
//
// The decision is recorded as an access event (source "remote_auth") in the unit of work that reads
// the domain, so the answer goes only once it is on disk, and the stream, webhooks and MQTT see it
// like any event. A store that fails answers AUTH=TIMEOUT: the server could not decide.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/codecs_time.hpp"
#include "protocol/event_codes.hpp"
#include "protocol/fields.hpp"
#include "protocol/responses.hpp"
#include "service/clock.hpp"
#include "storage/areas/access.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

class Devices;
class Live;

// A decision is recorded with the manual's own 222 (success) and 45 (times out), and a refusal with
// the code that names its reason (a panel deciding alone logs the same ones), rather than the
// catch-all 44, so that "top denial reasons" says why (protocol/event_codes.hpp).
namespace event_code = protocol::event_code;

// What the domain holds about the one asking, read in the decision's unit of work.
struct AuthFacts {
  std::optional<storage::Person> person;  // nullopt: no person holds that card or pin
  bool card_lost = false;                 // identified by a card the person holds as lost
  std::vector<storage::AccessLevel> levels;       // the person's levels
  std::vector<storage::TimeRule> rules;           // the rules those levels use
  std::vector<storage::Holiday> holidays;
  int drive_time = 0;                     // the door's drive_time setting, 0 = not set
  // Global anti-passback: the zones that door belongs to, and where the person stands in each
  // (presences[i] for zones[i]; nullopt: never seen there).
  std::vector<storage::ApbZone> zones;
  std::vector<std::optional<storage::ApbPresence>> presences;
  std::int64_t now = 0;  // unix seconds, for timed zones
};

struct AuthDecision {
  protocol::AuthResult result = protocol::AuthResult::failed;
  int event = event_code::not_registered;
  std::string reason;  // granted, unknown, card_lost, disabled, not_valid, no_access, outside_time, anti_passback
  std::string tips;    // what the panel may show ("Welcome, Ria")
  std::string pin;     // the person identified ("" when unknown)
  int open_seconds = 0;  // SUCCESS: how long the door is opened
};

// Pure: the decision for door `door` of panel `sn` at the panel's local time `local`.
AuthDecision decide_remote_auth(const AuthFacts& facts, const std::string& sn, int door, const protocol::CivilTime& local);

// The direction ("in", "out", "" = not in the zone) of a door in a zone.
std::string apb_direction(const storage::ApbZone& zone, const std::string& sn, int door);
// Where the person stands in the zone after passing that door at `now` (granted).
storage::ApbPresence apb_after(const storage::ApbZone& zone, const std::optional<storage::ApbPresence>& before,
                               const std::string& pin, const std::string& direction, std::int64_t now);

// Whether time rule `rule` allows `local` (holiday periods on a holiday of the list).
bool rule_allows(const storage::TimeRule& rule, std::span<const storage::Holiday> holidays, const protocol::CivilTime& local);

class RemoteAuth {
 public:
  static constexpr int kDefaultOpenSeconds = 5;

  RemoteAuth(storage::Store& store, Devices& devices, const Clock& clock) : store_(store), devices_(devices), clock_(clock) {}
  void set_live(Live* live) noexcept { live_ = live; }

  // Decides for `record` (the request's event record) from panel `sn` and records the decision;
  // `done` gets the answer to send (TIMEOUT when the store failed), on a store thread.
  void identify(const std::string& sn, const protocol::Record& record, std::function<void(protocol::RemoteAuthAnswer)> done);

 private:
  storage::Store& store_;
  Devices& devices_;
  const Clock& clock_;
  Live* live_ = nullptr;
};

}  // namespace zkpush::service
