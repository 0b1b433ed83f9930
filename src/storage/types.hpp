// The values the store reads and writes. Times are Unix seconds (UTC) unless named otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/enums.hpp"
#include "protocol/fields.hpp"
#include "storage/result.hpp"

namespace zkpush::storage {

// ---- devices -----------------------------------------------------------------------------------------

// The row has two owners, and each write touches only its owner's columns (see save_device and
// update_device_settings in store.hpp): otherwise a whole row saved from a copy read before the
// other owner's write silently undoes it (an approval lost, a new SessionID overwritten).
//   operator side (the API): approved, time_zone, config
//   device side (the device's own requests): everything else; options have their own table.
// The one crossing: automatic registration approves a device from the device path. Approval may go
// from false to true there, never back.
struct Device {
  std::string sn;
  bool approved = false;
  std::string registry_code;  // empty until registered
  std::string session_id;     // of the latest push-config download
  std::string push_version;   // pushver the device announced at init
  std::string ip;             // latest source address
  std::string time_zone;      // "" = the server's default; else "+hhmm"/"-hhmm"
  protocol::Record registry;  // the latest registration key list, as received
  protocol::Record options;   // device parameters, latest value per key (registry, options, GET OPTIONS)
  protocol::Record config;    // overrides of the configuration sent at init/push (RequestDelay=10...)
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  std::int64_t registered_at = 0;  // 0 = never
};

// A sub-controller of a master (multi-level control, manual 5): what the master last reported of it
// in its DeviceAuthorize table, and the step of the authorization the server asked for.
struct SubController {
  std::string sn;
  std::string master_sn;
  bool online = false;
  int is_authorize = 0;  // as reported: 0 unauthorized, 1 in progress, 2 authorized
  int requested = 0;     // asked by the server: 0 nothing, 1 step one, 2 step two, -1 de-authorized
  std::string authorize_info;
  std::string register_info;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;

  bool operator==(const SubController&) const = default;
};

// One per-device configuration key set by the operator, or removed (nullopt: the server's value
// applies again).
struct ConfigEdit {
  std::string key;
  std::optional<std::string> value;

  bool operator==(const ConfigEdit&) const = default;
};

// A change of the operator-side fields: only the present ones are written. Config changes are
// edits per key, not a whole list, so two operators changing different keys both win.
struct DeviceSettings {
  std::optional<bool> approved;
  std::optional<std::string> time_zone;  // "" = the server's default again
  std::vector<ConfigEdit> config;        // applied in order; keys compared without case

};

// Applies a settings change to a row, the same way in every backend and in the server's registry.
void apply_settings(Device& device, const DeviceSettings& settings);

// Merges uploaded device parameters into a device's options: the rule every backend's
// DeviceWrites::merge_options implements, and the one the device cache applies to its copy after
// the write commits. Per key, compared without case and without a leading '~' (firmware marks some
// parameters with it: ~DeviceName), the latest value and spelling win; bare keys (no '=') are
// skipped. The result is ordered as a backend lists them: by key, without case.
void merge_options(protocol::Record& options, const protocol::Record& update);

// One stored device parameter and where its latest value came from.
struct DeviceOption {
  std::string key;     // the latest spelling
  std::string value;
  std::string source;  // "registry", "options" (an options upload), "get_options" (a GET OPTIONS answer)
  std::int64_t updated_at = 0;
};

struct DevicePresence {
  std::string sn;
  std::int64_t last_seen = 0;
  std::string ip;
};

// ---- events ------------------------------------------------------------------------------------------

struct NewEvent {
  std::string sn;
  std::string time_local;             // the device's wall-clock time as sent, "YYYY-MM-DD HH:MM:SS"
  std::optional<std::int64_t> time_utc;  // from the device's time zone; nullopt if the time is unreadable
  std::string pin;
  std::string cardno;
  std::optional<std::int64_t> event;
  std::optional<std::int64_t> door;       // eventaddr / doorid
  std::optional<std::int64_t> inout;      // inoutstatus / inoutstate
  std::string verifytype;                 // Appendix 3 code or VERIFY_TYPE bit string, as sent
  std::optional<std::int64_t> index;      // the device's record id; the dedupe key when present
  std::optional<std::int64_t> alarm_type; // 7.13 cancel-alarm records
  std::string raw;                        // the record as received (fields exactly as sent)
  std::string source = "rtlog";           // rtlog | account | query
  std::int64_t received_at = 0;
};

struct EventRow : NewEvent {
  std::int64_t id = 0;
};

// Which events a listing wants. Every filter given must hold (AND); an empty or absent one
// holds for every event. (Every member has an initializer: EventFilter{sn, after_id, limit} stays
// warning-free.) Pages: after_id and before_id bound the ids (exclusive), newest_first
// orders them downwards (the before_id cursor), at most `limit` (<= 0: no limit).
struct EventFilter {
  std::string sn;  // "" = every device
  std::int64_t after_id = 0;
  std::int64_t limit = 100;
  std::int64_t before_id = 0;  // 0 = no upper bound
  bool newest_first = false;
  std::optional<std::int64_t> from{};  // time_utc >= from (an event whose time was unreadable never matches)
  std::optional<std::int64_t> to{};    // time_utc < to
  std::string pin{};                   // "" = any person
  std::string cardno{};                // "" = any card
  std::optional<std::int64_t> door{};
  std::vector<std::int64_t> events{};  // these codes only
  std::vector<protocol::EventCodeRange> classes{};  // codes in one of these ranges only (event classes)
};

// Events counted by the hour of their time_utc and their code (EventReads::hourly_counts): what the
// API's statistics are made of.
struct EventHourCount {
  std::int64_t hour = 0;               // the hour's first second, Unix seconds (a multiple of 3600)
  std::optional<std::int64_t> event{}; // the code; nullopt for events stored without one
  std::int64_t count = 0;
};

struct InsertCounts {
  // Events: new rows vs. records already stored. Device records: rows written (a new key or changed
  // content) vs. re-uploads identical to what was stored (left untouched).
  std::int64_t inserted = 0;
  std::int64_t duplicates = 0;
};

// ---- door state ----------------------------------------------------------------------------------------

struct DoorStateUpdate {
  std::string sn;
  std::string time_local;  // as sent
  std::string sensor;      // hex as sent
  std::string relay;
  std::string alarm;
  std::int64_t received_at = 0;
  std::int64_t id = 0;  // of a history row, assigned by the store; 0 for the current state
};

// ---- uploaded tables and logs ------------------------------------------------------------------------

struct DeviceRecord {
  std::string sn;
  std::string table;        // user, templatev10, biophoto, ATTPHOTO, userpic, biodata, identitycard...
  std::string key;          // the table's key fields joined ("1" for user Pin=1; "1/6" for pin+finger)
  protocol::Record fields;  // as received, minus the field moved to `content`
  std::string content;      // decoded binary (photos) or base64 text kept whole (templates); may be empty
  std::int64_t updated_at = 0;
  std::string content_field;     // the key `content` came from, as sent ("photo", "content", "tmp"...); "" = none
  std::string content_encoding;  // "binary" (decoded), "base64" (text as sent), "" = no content
  // Read back only: assigned by the store at the key's first upload and kept when a re-upload
  // replaces the record; the content's size, also when a listing leaves the content out.
  std::int64_t id = 0;
  std::int64_t content_size = 0;
};

// A page of device records by id, oldest first.
struct DeviceRecordFilter {
  std::string sn;             // "" = every device
  std::string table;          // "" = every table; compared without case (firmware spells ATTPHOTO both ways)
  std::string key;            // "" = every key
  std::int64_t after_id = 0;  // only records with a larger id (paging: the last id seen)
  std::int64_t limit = 100;   // <= 0: all
  bool content = true;        // false: content left empty (content_size still read): listings of photos
};

struct DeviceLogEntry {
  std::string sn;
  std::string kind;  // errorlog, irstate, testdata, enroll_info, enroll_bio, device_authorize, remote_auth...
  std::string data;  // the record as received
  std::int64_t received_at = 0;
  std::int64_t id = 0;  // assigned by the store
};

// A page of the device log, newest first.
struct DeviceLogFilter {
  std::string sn;              // "" = every device
  std::string kind;            // "" = every kind
  std::int64_t before_id = 0;  // only entries with a smaller id (paging: the last id seen); 0 = from the newest
  std::int64_t limit = 100;    // <= 0: all
};

// ---- commands ----------------------------------------------------------------------------------------

enum class CommandStatus { queued, sent, done, failed, expired, cancelled };
const char* command_status_name(CommandStatus status) noexcept;
std::optional<CommandStatus> command_status_from_name(std::string_view name) noexcept;

// Delivery order: a lower priority number goes first; FIFO within a priority.
enum class CommandPriority : int { control = 0, normal = 1, bulk = 2 };
const char* command_priority_name(CommandPriority priority) noexcept;
std::optional<CommandPriority> command_priority_from_name(std::string_view name) noexcept;

struct NewCommand {
  std::string sn;
  std::string line;  // the command without "C:<id>:", e.g. "CONTROL DEVICE 01010105"
  std::string verb;  // protocol verb name ("CONTROL DEVICE", "DATA UPDATE"...)
  CommandPriority priority = CommandPriority::normal;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;  // 0 = never; a queued command past it is never delivered
};

// A command's text as a row keeps it (after "C:<id>:"): not empty, no CR; LFs only between the
// records of a DATA UPDATE (the multiple-record form, 9.1.1), none of them starting a new "C:"
// line or empty.
bool valid_command_text(const NewCommand& command);

// What a command listing wants: one device ("" every device), some statuses (none: any), newest
// first below `before_id` (0: from the newest), at most `limit`.
struct CommandFilter {
  std::string sn;
  std::vector<std::string> statuses;  // names: queued, sent, done, failed, expired, cancelled
  std::vector<std::string> verbs;     // as stored ("ENROLL_BIO"); empty: any
  std::int64_t before_id = 0;
  std::int64_t limit = 100;
};

struct CommandRow {
  std::int64_t id = 0;       // API id, unique across devices
  std::string sn;
  std::int64_t wire_id = 0;  // C:<wire_id>: on the wire, unique per device, never reused
  std::string line;
  std::string verb;
  CommandPriority priority = CommandPriority::normal;
  CommandStatus status = CommandStatus::queued;
  std::optional<std::int64_t> return_code;
  std::string result;       // JSON text: what the result line said and how it was read
  std::int64_t created_at = 0;
  std::int64_t sent_at = 0;
  std::int64_t done_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t attempts = 0;  // deliveries so far
};

struct CommandData {
  std::int64_t command_id = 0;
  std::string kind;     // tabledata, count, options, account, overview, file...
  std::string table;
  std::int64_t packidx = 0;
  std::int64_t packcnt = 0;
  std::string body;     // as received (or a JSON summary for archives)
  std::int64_t received_at = 0;
};

struct StoreStats {
  std::int64_t devices = 0;
  std::int64_t events = 0;
  std::int64_t queued_commands = 0;  // queued or sent-and-unanswered
  std::uint64_t write_groups = 0;
  std::uint64_t write_jobs = 0;
  std::uint64_t failed_commits = 0;
  std::size_t write_queue = 0;
};

}  // namespace zkpush::storage
