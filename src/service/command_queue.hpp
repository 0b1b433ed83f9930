// The command queue: every command a device is sent, from the API (and later the sync engine) to
// the device's answer. It owns the commands' states and the one count of what each device still
// has to receive; storage keeps the rows (storage/areas/commands.hpp).
//
//            deliver            answer (Return >= 0 or a count; -7 "already ran")
//   queued ─────────► sent ─────────────────────────────► done
//     │  ▲  answer     │ │ deliver again (unanswered     (any other Return) ──► failed
//     │  └─ -5000 ──┐  │ │ for resend_after seconds, same wire id)
//     │             │  │ └──► sent
//     │ cancel      │  │ deadline passed (expires_at)
//     ▼             │  ▼
//  cancelled     (sent) expired
//
// -5000 (a master controller passed it on to a sub-controller; SET ADSCREEN_OPTIONS waiting for
// its screen device) keeps a command sent with the
// intermediate answer, and it is not re-sent: the device has it and answers when it ran. A final answer is recorded whatever the command's state (the device ran it:
// that is the audit trail, even for a command that expired or was cancelled meanwhile); -7 for a
// command already answered keeps the earlier result. A command past its deadline is never delivered
// or re-sent: a door opened minutes late is worse than not at all.
//
// A command is checked and formatted once, when it is queued: the row keeps the line that goes
// after "C:<wire id>:", its verb (how the answer is read) and its priority (delivery order: a door
// or control command goes ahead of bulk work such as a panel's full load; FIFO within a priority).
//
// Pending counts. pending(sn) answers "anything to deliver?" for every poll without the store. It
// is changed only by the exact transitions each unit of work reports after it committed (the
// writer runs them one at a time, callbacks in commit order), so it equals the number of the
// device's queued and sent rows in the store, for the commands this node queued or saw. A second
// node's commands are not seen here: docs/architecture.md says how that is meant to work.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "service/clock.hpp"
#include "service/live.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

// What happens to a command.
enum class CommandEvent { deliver, answer_pending, answer_done, answer_failed, expire, cancel };

// The status `event` moves a command in `status` to; nullopt when the event does not apply to it
// (a cancel of a sent command, a deadline of a closed one, -5000 after the final answer).
std::optional<storage::CommandStatus> next_status(storage::CommandStatus status, CommandEvent event) noexcept;
// queued or sent: the device may still be sent it.
bool is_open(storage::CommandStatus status) noexcept;
// Sent and answered "received, final result to follow" (-5000; SET ADSCREEN_OPTIONS' printed 5000):
// the device has it, so it is not re-sent however long the final answer takes.
bool awaits_final_answer(const storage::CommandRow& row) noexcept;
// How a command reads at `now`: an open one past its deadline is expired even before the sweep
// records it.
storage::CommandStatus effective_status(const storage::CommandRow& row, std::int64_t now) noexcept;

struct QueueOptions {
  std::int64_t control_expiry = 0;    // default deadline of CONTROL DEVICE, seconds (0 = never)
  std::int64_t resend_after = 60;     // a sent command unanswered this long is sent again
  std::size_t max_per_poll = 0;       // commands per getrequest at most (0 = no cap)
  std::size_t overdue_batch = 1000;   // commands expired per sweep unit of work
};

struct EnqueueRequest {
  std::string sn;
  std::string line;                             // without "C:<id>:"
  std::optional<std::int64_t> expires_in;       // seconds; nullopt = the default for the verb
  std::optional<storage::CommandPriority> priority;  // nullopt = control for CONTROL DEVICE, else normal
};

// What a device can take in one getrequest answer.
struct DeliveryBudget {
  std::size_t max_bytes = 0;  // MaxPackageSize (0 = no limit); the first command always goes
  int cmd_format = 0;         // CmdFormat: 1 wraps each command in Appendix 14's envelope
};

// Commands another service generates for a device when it polls (the sync engine): made inside
// the delivery's unit of work, so they go out in the same answer, and told when they close.
// Callbacks run on the store's writer thread, in commit order.
class CommandSource {
 public:
  virtual ~CommandSource() = default;
  // Whether the device may have commands to generate now. For every poll: no store access.
  virtual bool has_work(const std::string& sn) const = 0;
  // Inside the delivery's unit of work, before commands are taken: queues what the device should be
  // sent (tx.commands().insert of CommandQueue::prepare_generated rows). The number queued.
  virtual std::int64_t generate(storage::Transaction& tx, const std::string& sn, std::int64_t now) = 0;
  // Once that unit of work committed (ok) or failed.
  virtual void generated(const std::string& sn, bool ok) = 0;
  // Inside the unit of work in which a command was closed (done, failed, expired or cancelled).
  virtual void closed(storage::Transaction& tx, const storage::CommandRow& row, std::int64_t now) = 0;
  // Once that unit of work committed (ok) or failed.
  virtual void after_closed(const std::string& sn, bool ok) = 0;
};

class CommandQueue {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  CommandQueue(storage::Store& store, const Clock& clock, QueueOptions options);

  // Start-up: the pending counts and the next deadline, read from the store (blocking).
  storage::StoreStatus load();

  // Checks the line (a command the protocol defines, one line) and derives its verb, priority and
  // deadline: the NewCommand to queue, or an `invalid` error saying what is wrong.
  storage::StoreResult<storage::NewCommand> prepare(const EnqueueRequest& request) const;
  // A command built by the protocol builders (a multi-record DATA UPDATE included), for a
  // CommandSource: the line as formatted, the given priority, no deadline.
  storage::NewCommand prepare_generated(const std::string& sn, const protocol::Command& command,
                                        storage::CommandPriority priority) const;
  // The source of generated commands (one; set before the server starts).
  void set_source(CommandSource* source) noexcept { source_ = source; }
  // Rung when commands close (their closing is a message of the log).
  void set_live(Live* live) noexcept { live_ = live; }
  // A device removed from the store: its commands went with it.
  void forget(const std::string& sn);
  // Another node queued, sent or closed commands of the device (the store's change feed; blocking,
  // never on an I/O thread): its pending count and the earliest deadline are read again, and API calls
  // here waiting for one of its commands hear that it closed.
  storage::StoreStatus refresh(const std::string& sn);
  // Commands a source queued outside a delivery (a full load's clears), once committed.
  void note_queued(const std::string& sn, std::int64_t n) { adjust(sn, n); }
  // Multi-level control (service/sub_controllers.hpp): a master's sub-controllers, whose commands
  // go out on the master's polls in the CmdFormat=1 envelope naming them, and whose answers the
  // master posts (SN= of the sub); and why a command may not be queued for a device now (a sub not
  // authorized; nullopt: it may) from memory, for the poll path. enqueue asks `stored` instead,
  // inside its write: the store is what every node agrees on, while another node's authorization
  // reaches this one's memory a notification later. Set before the server starts.
  using Relay = std::function<std::vector<std::string>(const std::string& master)>;
  using Gate = std::function<std::optional<std::string>(const std::string& sn)>;
  using StoredGate = std::function<std::optional<std::string>(storage::DeviceReads& devices, const std::string& sn)>;
  void set_relay(Relay subs_of, Gate gate, StoredGate stored) {
    subs_of_ = std::move(subs_of);
    gate_ = std::move(gate);
    stored_gate_ = std::move(stored);
  }
  // Why a command may not be queued for `sn` now (a sub-controller not authorized), nullopt: it may.
  std::optional<std::string> refusal(const std::string& sn) const { return gate_ ? gate_(sn) : std::nullopt; }
  // Anything to deliver or to generate for the device, or for its sub-controllers (no store access).
  // `cmd_format`: the device's (its sub-controllers' commands need 1).
  bool has_work(const std::string& sn, int cmd_format = 1) const;
  // prepare() and queue it: the row (with its ids), or invalid / not_found (unknown device).
  void enqueue(const EnqueueRequest& request, Reply<storage::CommandRow> done);
  // A queued command is cancelled; cancelling a cancelled one is not an error; conflict once it
  // was delivered or closed; not_found for an unknown id.
  void cancel(std::int64_t id, Reply<storage::CommandRow> done);

  // Commands of the device still queued or sent (no store access).
  std::int64_t pending(const std::string& sn) const;
  std::int64_t pending_total() const;
  // For one getrequest: expires the device's overdue commands (and those of its sub-controllers
  // when the device takes CmdFormat=1: theirs go out with its own), then takes what is due (queued ones
  // by priority and age, and sent ones unanswered for resend_after), at most max_per_poll, while
  // they fit the budget (stopping at the first that does not, so nothing overtakes it), and marks
  // them sent. The rows taken, in delivery order; wire_text() gives each one's text.
  void deliver(const std::string& sn, const DeliveryBudget& budget, Reply<std::vector<storage::CommandRow>> done);
  // The device's answers from devicecmd; an answer with SN= of one of its sub-controllers (or,
  // without SN=, a wire id only a sub-controller's command has) is that command's. Unknown wire ids are ignored (another server's, or from
  // before a wiped data folder). The rows as they are afterwards.
  void record_answers(const std::string& sn, std::vector<protocol::CommandResult> answers,
                      Reply<std::vector<storage::CommandRow>> done);

  // Expires overdue commands of every device (the server calls it when next_deadline() passed).
  // The number expired.
  void expire_due(Reply<std::int64_t> done);
  // The earliest deadline of an open command this node knows of (nullopt: none).
  std::optional<std::int64_t> next_deadline() const;

  // ---- waiting for a command's answer (the API's ?wait=) ----
  // `done(true)` once the command is closed here (answered, failed, expired, cancelled: after the
  // commit), `done(false)` when `deadline` passes first (sweep_waits). Called once, outside any lock;
  // a caller that may also learn of the closure otherwise must make `done` idempotent.
  using WaitClock = std::chrono::steady_clock;
  void wait(std::int64_t id, WaitClock::time_point deadline, std::function<void(bool closed)> done);
  void sweep_waits();
  // Every wait answered as not closed (the server stops: their callers are answered while the
  // store and the front still exist).
  void end_waits();
  std::optional<WaitClock::time_point> next_wait() const;
  // Told when a waiter is added (the housekeeping thread wakes for its deadline).
  void on_wait_added(std::function<void()> hook) { wait_hook_ = std::move(hook); }

  // The text of a command on the wire, without the final LF.
  static std::string wire_text(const storage::CommandRow& row, int cmd_format);

  const Clock& clock() const noexcept { return clock_; }

 private:
  void adjust(const std::string& sn, std::int64_t delta);
  void adjust(const std::vector<std::pair<std::string, std::int64_t>>& deltas);
  void note_deadline(std::int64_t expires_at);
  void set_next_deadline(std::optional<std::int64_t> deadline);
  void closed_ids(const std::vector<std::int64_t>& ids);

  struct Waiter {
    WaitClock::time_point deadline;
    std::function<void(bool)> done;
  };

  storage::Store& store_;
  const Clock& clock_;
  QueueOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> pending_;
  std::int64_t total_ = 0;
  std::optional<std::int64_t> next_deadline_;
  // The sub-controllers of `sn` with something pending (a copy: no lock held after).
  std::vector<std::string> relayed(const std::string& sn) const;

  CommandSource* source_ = nullptr;
  Live* live_ = nullptr;
  Relay subs_of_;
  Gate gate_;
  StoredGate stored_gate_;
  mutable std::mutex waits_mutex_;
  std::multimap<std::int64_t, Waiter> waits_;  // by command id
  std::function<void()> wait_hook_;
};

}  // namespace zkpush::service
