// The store: everything the server keeps, behind one interface.
//
// Handlers never see SQL. SQLite is the embedded default (storage/sqlite/); a PostgreSQL backend
// for several server nodes implements the same interface later, and the same contract tests
// (tests/storage/) run against every backend.
//
// Threading and durability. Writes are asynchronous: the call returns at once and the callback
// runs later, on a storage thread, once the write is durable (committed and fsync'd) or has
// failed. Callers answer the device from that callback — a 200 means the data is on disk. Keep
// callbacks short: post the answer back to the connection's strand. Reads are synchronous and may
// be called from any thread; each thread gets its own read connection, and in WAL mode readers
// never wait for the writer.
//
// Errors. A write's StoreError is transient when the database failed (the device should retry:
// 503); otherwise the request itself was refused and `reason` says why (not_found, conflict,
// invalid). Reads throw StoreUnavailable when the database cannot be read.
//
// Lists: "" for a serial number, table or kind means any; a limit <= 0 means no limit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/fields.hpp"
#include "storage/types.hpp"

namespace zkpush::storage {

class Store {
 public:
  template <class T>
  using Reply = std::function<void(StoreResult<T>)>;
  using Done = std::function<void(StoreStatus)>;

  virtual ~Store() = default;

  // ---- devices ---------------------------------------------------------------------------------------
  // Every device, for the server's in-memory registry at start-up.
  virtual std::vector<Device> load_devices() = 0;
  virtual std::optional<Device> get_device(const std::string& sn) = 0;
  // The device's own write (init, registry, push...). A new row is inserted whole; an existing row
  // gets the device-side fields only: time_zone and config stay as stored and approved never goes
  // back from true to false (the given row may be a copy read before the operator changed them; see
  // Device). first_seen keeps the earliest and last_seen the latest of the stored and given values.
  // Options are not part of the row (merge_options); the command counter is never reset.
  virtual void save_device(Device device, Done done) = 0;
  // The operator's write (API approve, PATCH): only the fields present in `settings`, applied to the
  // row as stored when the write runs (apply_settings), never touching device-side columns. The
  // device must exist (not_found); a time zone other than "" / "+hhmm" / "-hhmm" is invalid.
  virtual void update_device_settings(std::string sn, DeviceSettings settings, Done done) = 0;
  // Merges device parameters, latest value wins per key, keys compared without case (the latest
  // spelling is kept); bare keys without a value are skipped. `source` says where they came from
  // ("registry", "options", "get_options"). The device must exist (not_found).
  virtual void merge_options(std::string sn, protocol::Record options, std::string source, std::int64_t now,
                             Done done) = 0;
  // Presence is kept in memory and flushed in batches: last_seen (never moved backwards) and address
  // (an empty one keeps the known address) per device. Unknown devices are skipped.
  virtual void touch_devices(std::vector<DevicePresence> presence, Done done) = 0;

  // ---- events (rtlog, and records recovered by ACCOUNT / DATA QUERY transaction) -------------------
  // Inserts what is new. A re-sent record is recognised by (sn, index, time_local), or by (sn, the
  // whole record: SHA-256 of raw, or of the fields when raw is empty) when it has no index, and is
  // not inserted twice. The time is part of the key because a device whose log was cleared numbers
  // its records from 1 again: those are new events, not re-sends. Events need no device row.
  virtual void insert_events(std::vector<NewEvent> events, Reply<InsertCounts> done) = 0;
  // Oldest first (by id), after filter.after_id.
  virtual std::vector<EventRow> list_events(const EventFilter& filter) = 0;
  // Events stored for a device. (ACCOUNT reconciliation needs no more: inserting the device's
  // whole log through insert_events reports how many were missing.)
  virtual std::int64_t count_events(const std::string& sn) = 0;

  // ---- door state (rtstate) ---------------------------------------------------------------------------
  // Keeps the current state per device and records it in the history when it changed.
  virtual void put_door_state(DoorStateUpdate update, Done done) = 0;
  virtual std::optional<DoorStateUpdate> get_door_state(const std::string& sn) = 0;
  // The latest `limit` changes of a device's door state (limit <= 0: all), oldest first.
  virtual std::vector<DoorStateUpdate> list_door_history(const std::string& sn, std::int64_t limit) = 0;

  // ---- data the device uploads about itself ------------------------------------------------------------
  // Table records (user, identitycard, templatev10, biophoto, ATTPHOTO, userpic, biodata...):
  // the latest record per key wins; binary content (photos) is kept decoded beside its metadata.
  // Counts: written (new or changed) vs. identical re-uploads (left untouched).
  virtual void put_device_records(std::vector<DeviceRecord> records, Reply<InsertCounts> done) = 0;
  // Ordered by device, table and key.
  virtual std::vector<DeviceRecord> list_device_records(const std::string& sn, const std::string& table,
                                                        std::int64_t limit) = 0;
  // Append-only logs: errorlog, irstate, testdata, enrollment uploads, DeviceAuthorize, ...
  virtual void append_device_log(std::vector<DeviceLogEntry> entries, Done done) = 0;
  // The latest `limit` entries, oldest first.
  virtual std::vector<DeviceLogEntry> list_device_log(const std::string& sn, const std::string& kind,
                                                      std::int64_t limit) = 0;

  // ---- command queue -------------------------------------------------------------------------------------
  // Appends a command to the device's FIFO. The store assigns the API id and the device's wire id
  // (C:<wire id>:), which never repeats for a device: strictly increasing, the first one derived
  // from the clock (storage/wire_ids.hpp) so that a wiped server does not replay old ids. The
  // device must exist (not_found: its row holds the counter); the line must be one line (invalid).
  virtual void enqueue_command(NewCommand command, Reply<CommandRow> done) = 0;
  // For one getrequest: expires queued and sent commands whose deadline passed (expires_at <= now;
  // a sent one is then never re-sent), then takes, in FIFO order, queued commands and sent ones
  // unanswered since before `resend_sent_before` (re-sent with the same wire id), at most
  // max_commands, while `fits` accepts them (stopping at the first it refuses; it is not asked about
  // commands past the cap); marks them sent, sent_at = now, attempts + 1. Returns what to deliver.
  virtual void take_for_delivery(DeliveryRequest request, Reply<std::vector<CommandRow>> done) = 0;
  // Applies devicecmd results (matched by the device's wire id; unknown ones are ignored). Returns
  // the matched rows, as they are after the update. done/failed record what the device did, even
  // for a command that expired or was cancelled meanwhile; an identical repeat changes nothing
  // (done_at included). sent (-5000, still running) keeps the command sent with the intermediate
  // answer, and never reopens a done/failed one. Any other status is refused (invalid).
  virtual void record_results(std::string sn, std::vector<ResultUpdate> results,
                              Reply<std::vector<CommandRow>> done) = 0;
  // Keeps data uploaded for a command (querydata packs, GET OPTIONS answers, ACCOUNT summaries),
  // in arrival order; an identical re-post (same kind, table, pack and body) is kept once. The
  // command must exist (not_found).
  virtual void add_command_data(CommandData data, Done done) = 0;
  // Cancels a queued command (done_at = the wall clock). Cancelling a cancelled one is not an error;
  // any other status is a conflict (it was delivered or is closed), an unknown id is not_found.
  virtual void cancel_command(std::int64_t id, Reply<CommandRow> done) = 0;
  virtual std::optional<CommandRow> get_command(std::int64_t id) = 0;
  virtual std::optional<CommandRow> find_command(const std::string& sn, std::int64_t wire_id) = 0;
  virtual std::vector<CommandData> get_command_data(std::int64_t id) = 0;
  // Number of queued or sent commands per device (the server's in-memory "anything to deliver?").
  virtual std::vector<std::pair<std::string, std::int64_t>> pending_counts() = 0;

  // ---- maintenance -------------------------------------------------------------------------------------
  // Runs the database's integrity check; "ok" or the problems found.
  virtual std::string integrity_check() = 0;
  virtual StoreStats stats() = 0;
};

struct SqliteOptions {
  std::string path;            // the database file, e.g. <data>/zkpush.db
  std::size_t max_group = 2048;  // writes per transaction (group commit) at most
};
// Opens (creating and migrating as needed) the SQLite store; the folder must exist. Throws
// std::runtime_error with the reason (unopenable file, schema newer than this program, no WAL).
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options);

}  // namespace zkpush::storage
