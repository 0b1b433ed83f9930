// The store: everything the server keeps, behind one small facade.
//
// The data is split by area (storage/areas/: devices, events, door states, device data, commands;
// persons, access rules and sync state join later), each an interface of its own. Nobody calls an
// area directly: work is handed to the store as a unit of work, a function that receives every area
// (storage/unit_of_work.hpp) and runs
//   - for a write, inside one transaction on the store's writer: all of it becomes durable together
//     (committed and fsync'd, grouped with other writes: one commit for many requests) or none of it;
//   - for a read, on one of the store's reader threads, over a consistent snapshot.
// Handlers never see SQL, and nothing outside storage/ names a backend: backends live in their own
// folders (storage/sqlite/; PostgreSQL later) and are opened by URL (storage/open_store.hpp). The
// contract suite (tests/storage/) runs every area against every backend.
//
// Threads. write() and read() return at once; `done` runs later on a storage thread. Keep it short:
// post the answer back to the connection (an http::Responder does that itself). Callers answer a
// device from a write's `done`: a 200 means the data is on disk. The *_now forms block the calling
// thread: for start-up, administration and tests, never on an I/O thread.
//
// Errors: one result type, StoreResult<T>, for reads and writes. A job (or an area) throws Refused
// to refuse what was asked (not_found, conflict, invalid); the unit's writes are undone and the
// error is not transient. A failure of the database (disk full, I/O error, locked, read-only,
// corrupt) is transient: the same request may succeed later (503 to devices). A stored value that
// cannot be decoded is transient in a read; inside a write it fails that job like any other exception
// that is neither Refused nor the database's (a bug): not transient, Reason::none, the job undone.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "storage/result.hpp"
#include "storage/types.hpp"
#include "storage/unit_of_work.hpp"

namespace zkpush::storage {

namespace detail {
template <class R>
struct UnitIfVoid {
  using type = R;
};
template <>
struct UnitIfVoid<void> {
  using type = Unit;
};
}  // namespace detail

// What a unit of work `Job` called with `View&` yields: its return value, Unit for void.
template <class Job, class View>
using JobValue = typename detail::UnitIfVoid<std::invoke_result_t<Job&, View&>>::type;

class Store {
 public:
  template <class T>
  using Reply = std::function<void(StoreResult<T>)>;
  using Done = Reply<Unit>;

  virtual ~Store() = default;

  // A unit of work that writes: `job(Transaction&)` on the writer, `done` once durable or failed.
  template <class Job>
  void write(Job job, Reply<JobValue<Job, Transaction>> done);
  // A unit of work that reads: `job(Reads&)` on a reader thread, never the caller's.
  template <class Job>
  void read(Job job, Reply<JobValue<Job, Reads>> done);
  // Blocking forms (start-up, administration, tests; never on an I/O thread).
  template <class Job>
  StoreResult<JobValue<Job, Transaction>> write_now(Job job);
  template <class Job>
  StoreResult<JobValue<Job, Reads>> read_now(Job job);

  // ---- maintenance -----------------------------------------------------------------------------------
  // Runs the database's integrity check; "ok" or the problems found. Blocking.
  virtual std::string integrity_check() = 0;
  virtual StoreResult<StoreStats> stats() = 0;

  // ---- several nodes on one store (docs/scaling.md) --------------------------------------------------
  // What other nodes committed that this node's memory may hold an older copy of. A store that only
  // one node can use (SQLite) never reports anything; PostgreSQL does through LISTEN/NOTIFY.
  struct Change {
    enum class Kind {
      device,    // a device's row or options (sn)
      commands,  // a command of the device was queued or changed state (sn)
      messages,  // the message log grew (events, door states, closed commands...)
      sync,      // the sync engine's state of a panel changed (sn)
      settings,  // what the server itself is set up with: API tokens, webhooks, sub-controllers
      resync,    // changes may have been missed (the feed's connection was lost): reload everything
    };
    Kind kind;
    std::string sn;
  };
  using ChangeListener = std::function<void(const Change&)>;
  // Sets the listener (one; before the server starts). Called on a thread of the store's own, one
  // change at a time: keep it short (post the work elsewhere).
  // NOLINTNEXTLINE(performance-unnecessary-value-param): a sink; a backend that keeps it moves it in
  virtual void watch(ChangeListener /*listener*/) {}
  // Whether this node leads: runs what must run once for all nodes (the sync engine, webhook and MQTT
  // deliveries, expiry and retention sweeps). Alone on its store, a node always leads; on a shared
  // store one node at a time holds the lead, and another takes it over when that node is lost.
  virtual bool leads() const { return true; }

 protected:
  // What a backend implements. `done` gets nullopt when the job ran (and, for a write, its
  // transaction committed), else why not; it runs on a storage thread.
  using Outcome = std::function<void(std::optional<StoreError>)>;
  virtual void submit_write(std::function<void(Transaction&)> job, Outcome done) = 0;
  virtual void submit_read(std::function<void(Reads&)> job, Outcome done) = 0;
  // On the calling thread.
  virtual std::optional<StoreError> run_read(const std::function<void(Reads&)>& job) = 0;

 private:
  // Runs `job` on `view`, keeping its value in `slot`.
  template <class T, class Job, class View>
  static void run_into(Job& job, View& view, std::optional<T>& slot) {
    if constexpr (std::is_void_v<std::invoke_result_t<Job&, View&>>) {
      job(view);
      slot.emplace();
    } else {
      slot.emplace(job(view));
    }
  }
  template <class T>
  static StoreResult<T> result_of(std::optional<StoreError>& error, std::optional<T>& slot) {
    if (error) return StoreResult<T>(std::move(*error));
    if (!slot) return StoreResult<T>(StoreError{false, "the unit of work produced no value"});
    return StoreResult<T>(std::move(*slot));
  }
  template <class T, class View, class Job, class Submit>
  void submit(Job job, Reply<T> done, Submit submit_fn);
};

template <class T, class View, class Job, class Submit>
void Store::submit(Job job, Reply<T> done, Submit submit_fn) {
  auto slot = std::make_shared<std::optional<T>>();
  (this->*submit_fn)([slot, job = std::move(job)](View& view) mutable { run_into<T>(job, view, *slot); },
                     [slot, done = std::move(done)](std::optional<StoreError> error) {
                       if (done) done(result_of<T>(error, *slot));
                     });
}

template <class Job>
void Store::write(Job job, Reply<JobValue<Job, Transaction>> done) {
  submit<JobValue<Job, Transaction>, Transaction>(std::move(job), std::move(done), &Store::submit_write);
}

template <class Job>
void Store::read(Job job, Reply<JobValue<Job, Reads>> done) {
  submit<JobValue<Job, Reads>, Reads>(std::move(job), std::move(done), &Store::submit_read);
}

template <class Job>
StoreResult<JobValue<Job, Transaction>> Store::write_now(Job job) {
  using T = JobValue<Job, Transaction>;
  // A promise shared with the callback: the writer may call it on its thread while this one waits.
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<StoreResult<T>> result;
  };
  auto wait = std::make_shared<Wait>();
  write(std::move(job), [wait](StoreResult<T> r) {
    std::lock_guard lock(wait->mu);
    wait->result.emplace(std::move(r));
    wait->cv.notify_all();
  });
  std::unique_lock lock(wait->mu);
  wait->cv.wait(lock, [&] { return wait->result.has_value(); });
  return std::move(*wait->result);
}

template <class Job>
StoreResult<JobValue<Job, Reads>> Store::read_now(Job job) {
  using T = JobValue<Job, Reads>;
  std::optional<T> slot;
  std::optional<StoreError> error = run_read([&](Reads& view) { run_into<T>(job, view, slot); });
  return result_of<T>(error, slot);
}

}  // namespace zkpush::storage
