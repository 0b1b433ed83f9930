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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
  int inout = -1;        // the reader that read: the record's inoutstatus (0 in, 1 out), -1 not given
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
// A zone door's direction is "in", "out", or "reader": then `inout` (the record's inoutstatus, 0 in,
// 1 out, -1 not given) says which of the door's readers read.
std::string apb_direction(const storage::ApbZone& zone, const std::string& sn, int door, int inout);
// Where the person stands in the zone after passing that door at `now` (granted).
storage::ApbPresence apb_after(const storage::ApbZone& zone, const std::optional<storage::ApbPresence>& before,
                               const std::string& pin, const std::string& direction, std::int64_t now);

// Whether time rule `rule` allows `local` (holiday periods on a holiday of the list).
bool rule_allows(const storage::TimeRule& rule, std::span<const storage::Holiday> holidays, const protocol::CivilTime& local);

class RemoteAuth {
 public:
  static constexpr int kDefaultOpenSeconds = 5;
  using WaitClock = std::chrono::steady_clock;

  // `deadline`: how long a panel waits for a decision before it is answered TIMEOUT (the store is
  // slow or unavailable). Shorter than a panel's own wait, so the panel hears TIMEOUT rather than
  // nothing.
  RemoteAuth(storage::Store& store, Devices& devices, const Clock& clock,
             std::chrono::milliseconds deadline = std::chrono::milliseconds(2000))
      : store_(store), devices_(devices), clock_(clock), deadline_(deadline) {}
  void set_live(Live* live) noexcept { live_ = live; }

  // Decides for `record` (the request's event record) from panel `sn` and records the decision;
  // `done` gets the answer to send, once: the decision (on a store thread), or TIMEOUT when the store
  // failed or the deadline passed first (from sweep()). A request answered TIMEOUT by the deadline
  // records nothing, even if the store reaches it later: the panel was told no decision was taken.
  void identify(const std::string& sn, const protocol::Record& record, std::function<void(protocol::RemoteAuthAnswer)> done);

  // Answers TIMEOUT to every request whose deadline passed (the server's housekeeping thread).
  void sweep();
  // Every request still waiting answered TIMEOUT (the server stops).
  void end_pending();
  std::optional<WaitClock::time_point> next_deadline() const;
  // Told when a request starts waiting (the housekeeping thread wakes for its deadline).
  void on_pending_added(std::function<void()> hook) { pending_hook_ = std::move(hook); }
  std::uint64_t timeouts() const noexcept { return timeouts_.load(std::memory_order_relaxed); }

 private:
  // A request in flight: whoever moves `state` from waiting first answers it (the store's unit of
  // work, which then decides, or the sweep, which answers TIMEOUT).
  struct Pending {
    enum State : int { waiting, deciding, timed_out };
    std::atomic<int> state{waiting};
    WaitClock::time_point deadline;
    std::string sn;
    protocol::Record record;
    std::function<void(protocol::RemoteAuthAnswer)> done;
  };
  void forget(std::uint64_t id);
  static protocol::RemoteAuthAnswer timeout_answer(const protocol::Record& record);

  storage::Store& store_;
  Devices& devices_;
  const Clock& clock_;
  const std::chrono::milliseconds deadline_;
  Live* live_ = nullptr;
  mutable std::mutex pending_mutex_;
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;  // by arrival: earliest deadline first
  std::uint64_t next_id_ = 0;
  std::function<void()> pending_hook_;
  std::atomic<std::uint64_t> timeouts_{0};
};

}  // namespace zkpush::service
