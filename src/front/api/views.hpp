// The JSON shapes of the /api/v1 answers (docs/serve.md, "JSON API"), built from what the registry
// and the store hold. Pure functions: no clock, no database, so every shape is testable alone.
//
// Conventions: keys the API documents come first; extras follow. Instants are Unix seconds (UTC)
// as JSON numbers, null when not known / not yet, except `last_seen`, which is an ISO-8601 UTC
// string ("2026-11-24T01:53:12Z"). Device-local wall-clock times ("time", "time_local") are
// "YYYY-MM-DD HH:MM:SS" as the store normalised them.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <string_view>

#include "service/devices.hpp"
#include "storage/types.hpp"
#include "storage/unit_of_work.hpp"

namespace zkpush::front::api {

using Json = nlohmann::ordered_json;

// "2026-11-24T01:53:12Z"; null for 0 (never) or an instant the calendar code cannot express.
Json iso_utc(std::int64_t unix_seconds);

using service::online_window;  // service/devices.hpp

// The configuration keys a device may have its own value for (PATCH "config"), and whether the
// value is a number.
struct DeviceConfigKey {
  std::string_view name;
  bool numeric;
};
inline constexpr DeviceConfigKey kDeviceConfigKeys[] = {
    {"RequestDelay", true}, {"ErrorDelay", true},  {"TimeoutSec", true},  {"TransInterval", true},
    {"Realtime", true},     {"TransTimes", false}, {"TransTables", false}, {"ServerName", false},
};
bool is_numeric_config_key(std::string_view key) noexcept;

// {"sn","online","last_seen","approved","ip","firmware","push_version","options":{...}} plus
// registered, registered_at, first_seen, last_seen_unix, time_zone, config (overrides; numbers for
// the numeric keys), pending (queued or sent and unanswered commands). last_seen: presence known in
// memory, newer than the row's between flushes.
Json device_json(const storage::Device& device, std::int64_t last_seen, std::int64_t pending, std::int64_t now,
                 std::int64_t window);

// A sub-controller (multi-level control): {"sn","master","online","is_authorize","state",
// "requested","authorize_info","register_info","first_seen","last_seen"}; state is unauthorized,
// authorizing (step one asked or under way), authorized or deauthorized.
Json sub_controller_json(const storage::SubController& sub);

// {"doors":[{"door","sensor","relay","alarms"}],"time"} plus time_utc, received_at and the raw
// sensor/relay/alarm as sent; doors [] and time null when the device has reported no state.
// door_count: LockCount (0 = as many doors as the data covers); tz_minutes: the device's zone.
Json door_state_json(const std::optional<storage::DoorStateUpdate>& state, int door_count, int tz_minutes);

// {"id","sn","time","pin","cardno","event","event_name","door","inout","verifytype","verify_name",
// "index"} plus time_local, time_utc, alarm_type, source, received_at, event_class (the catalogue's
// class of the code: normal, error, abnormal, alarm, warning, special; null outside its ranges).
// `person_name`: the name of the person holding the event's pin, when the domain knows it (else null).
Json event_json(const storage::EventRow& event, const std::string* person_name = nullptr);
// A page of events and the names of the persons they name (pins the domain knows), read in one
// unit of work: what GET /api/v1/events and the event stream send.
struct EventPage {
  std::vector<storage::EventRow> events;
  std::map<std::string, std::string> names;  // pin -> the person's name
};
EventPage read_event_page(storage::Reads& r, const storage::EventFilter& filter);
Json event_page_json(const EventPage& page);  // an array, in the page's order

// ---- the console's summaries ----
// GET /api/v1/me: {"role": "admin"|"operator"|"viewer", "name", "token_id" (null for the server's
// own token)} plus actor (how the audit log names the caller).
Json caller_json(std::string_view role, const std::string& name, std::optional<std::int64_t> token_id,
                 const std::string& actor);
// The classes event statistics count by: the catalogue's (protocol::event_classes(): normal, error,
// abnormal, alarm, warning, special), then "other" (no code, or a code outside every class).
std::vector<std::string> event_stat_classes();
inline constexpr std::size_t kTopDenials = 10;
// GET /api/v1/events/stats over `hours` hours from `from` (an hour's first second):
// {"from","to" (ISO-8601 UTC),"hours","sn" (null: every device),"total",
//  "by_class": {"normal": n, ..., "other": n},
//  "per_hour": [{"hour" (ISO, the hour's start),"total","normal",...,"other"}] (every hour, oldest
//  first, zeros included),
//  "top_denials": [{"event","name" (the catalogue's meaning, null if undefined),"count"}] (codes of
//  class error, the denials: most frequent first, then by code; at most kTopDenials)}.
Json event_stats_json(const std::vector<storage::EventHourCount>& counts, std::int64_t from, std::int64_t hours,
                      const std::string& sn);
// GET /api/v1/persons/{pin}/sync: per panel [{"sn","state" (the engine's: pending, sending, applied,
// failed),"should_hold","holds","error" (null or the panel's refusal),"return" (null or its Return
// value),"attempts","updated_at"}] plus retry_at (null unless failed).
Json person_sync_json(const std::vector<storage::SyncItem>& items);
// GET /api/v1/sync: [{"sn","pending","applied","failed","in_flight","commands"}], in the given order.
Json panel_sync_json(const std::vector<storage::PanelSyncCounts>& panels);

// ---- the message log (the stream's, webhooks' and MQTT's messages) ----
// A page of messages with what their JSON needs: the names of the persons events name, the
// commands that closed (with their uploads), read in one unit of work.
struct MessagePage {
  std::vector<storage::Message> messages;
  std::map<std::string, std::string> names;  // pin -> the person's name
  std::map<std::int64_t, std::pair<storage::CommandRow, std::vector<storage::CommandData>>> commands;
};
MessagePage read_message_page(storage::Reads& r, const storage::MessageFilter& filter);
MessagePage read_messages(storage::Reads& r, const std::vector<std::int64_t>& ids);
// A device's door count and time zone (minutes), for door-state messages.
using DoorContext = std::function<std::pair<int, int>(const std::string& sn)>;
// {"sn", then door_state_json's fields}, the device's door count and time zone from `doors`: a
// door_state message and an entry of GET /doors/state.
Json device_door_state_json(const std::string& sn, const std::optional<storage::DoorStateUpdate>& state,
                            const DoorContext& doors);
// What a message says, as the API shows the thing it tells of:
//   event       the event's JSON (event_json)
//   door_state  {"sn", then door_state_json's fields}
//   command     the command's JSON (command_json)
//   device      {"sn","state":"online"|"offline","last_seen"}
//   sync        {"sn","state":"syncing"|"applied"|"failed","pending","applied","failed","in_flight","time"}
// null when the row it names is gone (retention).
Json message_json(const MessagePage& page, std::size_t index, const DoorContext& doors);
// The message kinds, as subscriptions and the stream name them.
inline constexpr std::string_view kMessageKinds[] = {"event", "door_state", "command", "device", "sync", "security"};
bool is_message_kind(std::string_view kind) noexcept;

// ---- what a device uploaded about itself ----
// {"id","sn","table","key","fields":{as sent, without the content's field},"content_field",
// "content_encoding","content_bytes","content_url","updated_at"}: content_field and content_encoding
// null when not known, content_url (the route serving the content, GET
// /api/v1/devices/{sn}/records/{id}/content) null when the record has none. The content itself may be
// left out (a listing): content_bytes is the record's content_size.
Json device_record_json(const storage::DeviceRecord& record);
// The Content-Type of a record's content: base64 text (templates, photos that were not base64)
// text/plain; anything else by its first bytes (JPEG, PNG, GIF, BMP; application/octet-stream for
// the rest).
std::string_view record_content_type(const storage::DeviceRecord& record);
// An image's media type by its first bytes (JPEG, PNG, GIF, BMP), else application/octet-stream.
std::string_view image_type(std::string_view bytes);
// {"id","sn","kind","data" (the record as received),"fields" (it parsed, {"key": "value"}),"received_at"}.
Json device_log_json(const storage::DeviceLogEntry& entry);
// The kinds the device endpoints log (device_endpoints.cpp): errorlog, irstate, testdata,
// enroll_info, enroll_bio, device_authorize.
inline constexpr std::string_view kDeviceLogKinds[] = {"errorlog",    "irstate",    "testdata",
                                                       "enroll_info", "enroll_bio", "device_authorize"};
// A change of door state from the history: {"id","sn", then door_state_json's fields}.
Json door_state_change_json(const storage::DoorStateUpdate& change, int door_count, int tz_minutes);
// {"<key>": {"value","source","updated_at"}}, keys as the device spelt them, in the store's order.
Json device_options_json(const std::vector<storage::DeviceOption>& options);

// {"id","sn","line","status","return","return_name","result"} plus wire_id, verb, return_kind,
// result_line (the devicecmd line as read), created_at, sent_at, done_at, expires_at, attempts.
// `result` is what the device uploaded for the command (querydata records, counts, options,
// ACCOUNT summaries), null when it uploaded nothing.
Json command_json(const storage::CommandRow& row, const std::vector<storage::CommandData>& data);
Json command_result_json(const std::vector<storage::CommandData>& data);

}  // namespace zkpush::front::api
