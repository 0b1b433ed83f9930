// Area: the sync engine's bookkeeping, per panel and record: what the panel should hold (desired,
// derived from the access domain), what it is known to hold (applied, confirmed by its Return
// values), and which queued DATA commands carry which records.
//
// Contents are the sync service's canonical text (service/sync.hpp): the store compares them as
// strings and never reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::storage {

enum class SyncState {
  pending,  // desired differs from applied; nothing in flight
  sending,  // commands carrying it are queued or sent
  applied,  // the panel holds what is desired
  failed,   // the panel refused it; retried at retry_at
};
const char* sync_state_name(SyncState state) noexcept;  // "pending", "sending", "applied", "failed"

struct SyncKey {
  std::string sn;
  std::string kind;  // "person", "timerule"
  std::string key;   // pin, time rule id
  bool operator==(const SyncKey&) const = default;
};

struct SyncItem {
  SyncKey id;
  std::optional<std::string> desired;  // nullopt: the panel should not hold it
  std::optional<std::string> applied;  // nullopt: it does not (as far as we know)
  std::optional<std::string> sending;  // the desired content the commands in flight carry
  SyncState state = SyncState::pending;
  std::optional<std::int64_t> return_code;  // of the last failure
  std::string error;                        // its meaning ("-12: ...")
  std::int64_t attempts = 0;                // failures in a row
  std::int64_t batch = 0;                   // > 0: was in a command that failed; send at most this many records per command
  std::int64_t retry_at = 0;
  std::int64_t updated_at = 0;
};

struct SyncCounts {
  std::int64_t pending = 0;  // pending and sending
  std::int64_t applied = 0;
  std::int64_t failed = 0;
  std::int64_t commands = 0;  // DATA commands the engine queued for the panel, ever
  std::int64_t in_flight = 0; // of them, not answered yet
};

// One panel's counts (SyncReads::panel_counts).
struct PanelSyncCounts {
  std::string sn;
  SyncCounts counts;
};

// What the engine knows of a panel as a whole.
struct SyncPanel {
  std::int64_t commands = 0;
  std::int64_t checked_at = 0;  // last time what it holds was read (0 = never: read before the first write)
  bool check_wanted = false;    // read it at the next turn (operator's verify, a count that did not match)
  std::string check_result;     // what the last check found, in words
};

class SyncReads {
 public:
  virtual ~SyncReads() = default;
  virtual std::optional<SyncItem> item(const SyncKey& id) = 0;
  // A panel's items of one kind ("" = every kind), by kind and key.
  virtual std::vector<SyncItem> items(const std::string& sn, const std::string& kind) = 0;
  virtual SyncCounts counts(const std::string& sn) = 0;
  // counts() of every panel the engine knows (it has items for it, commands in flight, or has
  // queued commands or checked it), by serial number, in one read: GROUP BY over the indexes.
  virtual std::vector<PanelSyncCounts> panel_counts() = 0;
  // One record on every panel that has an item for it (kind "person", key its pin), by serial
  // number: the panels that should hold it, hold it, or are being told to drop it.
  virtual std::vector<SyncItem> items_on_panels(const std::string& kind, const std::string& key) = 0;
  // Failed items, most recent first, at most `limit`.
  virtual std::vector<SyncItem> failures(const std::string& sn, std::int64_t limit) = 0;
  // Panels with work to send: pending items, or failed ones to retry (the earliest retry_at for
  // those), and no command of the engine in flight. Pairs (sn, due at: 0 = now).
  virtual std::vector<std::pair<std::string, std::int64_t>> due_panels() = 0;
  // When the panel next has work to send: 0 for pending items, else the earliest retry of failed
  // ones; nullopt when it has none or a command of the engine is in flight.
  virtual std::optional<std::int64_t> next_due(const std::string& sn) = 0;
  // The items a command carries.
  virtual std::vector<SyncKey> carried_by(std::int64_t command_id) = 0;
  // Whether a command of the engine is in flight for the panel.
  virtual bool in_flight(const std::string& sn) = 0;
  // Commands in flight for an item.
  // The items of a command that no other command in flight carries.
  virtual std::vector<SyncKey> carried_alone(std::int64_t command_id) = 0;
  virtual std::int64_t sends_of(const SyncKey& id) = 0;

  virtual SyncPanel panel(const std::string& sn) = 0;  // defaults for a panel never seen
  // Panels that have been checked, with when (periodic verification).
  virtual std::vector<std::pair<std::string, std::int64_t>> checked_panels() = 0;
  // Items of a kind the panel is known to hold (applied content set).
  virtual std::int64_t applied_count(const std::string& sn, const std::string& kind) = 0;
  // Records the panel holds that the domain does not know, by kind and key.
  virtual std::vector<SyncKey> unmanaged(const std::string& sn) = 0;
};

class SyncWrites : public SyncReads {
 public:
  // Creates or updates the item's desired content, and its state: applied when it equals the
  // applied content, else pending (sending stays sending: the answer decides). An item that should
  // hold nothing and holds nothing is removed.
  virtual void put_desired(const SyncKey& id, const std::optional<std::string>& desired, std::int64_t now) = 0;
  // Writes the item back (state, applied, sending, failure fields).
  virtual void update(const SyncItem& item) = 0;
  // The items linked to a command just queued are being sent: sending = desired, state sending,
  // the last error forgotten (items already sending are left as they are).
  virtual void mark_sending(std::int64_t command_id, std::int64_t now) = 0;
  // A command carrying items succeeded: each item it alone was sending, with no error noted,
  // holds what was sent (applied = sending; state applied, or pending when the desired content
  // changed meanwhile). Returns the items settled; the others are the caller's (update()).
  virtual std::vector<SyncKey> settle_sent(std::int64_t command_id, std::int64_t now) = 0;
  // Items to send now: pending, and failed ones whose retry_at passed, by kind and key, at most
  // `limit` (<= 0: all).
  virtual std::vector<SyncItem> due(const std::string& sn, std::int64_t now, std::int64_t limit) = 0;
  // Records that a queued command carries these items.
  virtual void link(std::int64_t command_id, const std::vector<SyncKey>& items) = 0;
  virtual void unlink(std::int64_t command_id) = 0;
  virtual void count_commands(const std::string& sn, std::int64_t queued) = 0;
  // Forgets what the panel holds: every item's applied content (a full load follows).
  virtual void forget_applied(const std::string& sn, std::int64_t now) = 0;
  virtual void set_check(const std::string& sn, std::int64_t checked_at, bool wanted, const std::string& result) = 0;
  // Replaces the panel's unmanaged records of `kind`.
  virtual void set_unmanaged(const std::string& sn, const std::string& kind, const std::vector<std::string>& keys) = 0;
  // Moves a panel's items to another serial number (a replaced panel), applied contents
  // forgotten; the new panel's own items are replaced.
  virtual void move_panel(const std::string& from, const std::string& to, std::int64_t now) = 0;
};

}  // namespace zkpush::storage
