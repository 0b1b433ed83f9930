// Server answers: the bodies the server formats, and the emulator parses.
//
// Formatting is exact (the spelling of the manual's grammar; LF line ends; no stray spaces).
// Parsing is tolerant: keys and fixed words in any case, CR LF or LF, spaces around '=' and ':',
// trailing NUL/CR/LF.
//
//   init (4.1)            "OK" | "registry=ok\nRegistryCode=<c>\n" + configuration lines
//   registry (4.4)        "RegistryCode=<c>"; refusal: HTTP 406 with body "406"
//   push (4.5)            configuration lines "Key=Value\n"
//   uploads               "<tablename>=<N>" for table uploads, "OK" for the rest
//   getrequest (8.1)      command lines, or "OK" when the queue is empty
//   rtdata (9.5.1)        "DateTime=<n>,ServerTZ=+0800"
//   exchange (4.2/4.3)    "PublicKey=<text>" / "Factors=<text>" (opaque: the algorithms are not
//                         documented, only these envelopes are implemented)
//   remote auth (10)      "AUTH=SUCCESS|FAILED|TIMEOUT" CR LF event record [CR LF "CONTROL DEVICE
//                         <hex>"] [CR LF "TIPS=<text>"]
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/device_requests.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/fields.hpp"
#include "protocol/result.hpp"

namespace zkpush::protocol {

// A status and body the server should send, as data (the HTTP layer adds Date, Content-Length).
struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain;charset=UTF-8";
  bool operator==(const HttpAnswer&) const = default;
};

// ---- plain OK ----------------------------------------------------------------------------------------

inline constexpr std::string_view kOkBody = "OK";
// "OK" in any case, with surrounding spaces, CR, LF or NUL.
bool is_ok(std::string_view body) noexcept;

// ---- configuration answers (init 4.1, push 4.5) ------------------------------------------------------

enum class KeyOrder {
  catalogue,  // the catalogue's keys in the catalogue's order, then the others as given
  as_given,   // exactly the order of the Record
};

// After registry/RegistryCode: ServerVersion, ServerName, PushProtVer, ErrorDelay, RequestDelay,
// TransTimes, TransInterval, TransTables, Realtime, SessionID, TimeoutSec.
std::span<const std::string_view> init_config_keys() noexcept;
// The 4.5 list: ServerVersion, ServerName, PushProtVer, ErrorDelay, RequestDelay, TransTimes,
// TransInterval, TransTables, Realtime, SessionID, TimeoutSec, BioPhotoFun, BioDataFun,
// MultiBioDataSupport, MultiBioPhotoSupport, QRCodeDecryptKey, QRCodeDecryptType, NewVFStyles,
// IRTempUnitTrans, SvrNSLevel, PushOptionsFlag.
std::span<const std::string_view> push_config_keys() noexcept;
// Known keys (any case) first in `order`, then every other field in its original order.
Record in_key_order(const Record& config, std::span<const std::string_view> order);

struct InitAnswer {
  bool registered = false;
  std::string registry_code;  // when registered
  Record config;              // every other key=value line (ServerVersion, SessionID, ...)
};
// Not registered: "OK" (config is not sent). Registered: "registry=ok\nRegistryCode=<c>\n" then
// the configuration, one "Key=Value\n" line each.
std::string format_init_answer(const InitAnswer& answer, KeyOrder order = KeyOrder::catalogue);
// Registered when the body has a non-empty RegistryCode, or registry=ok (any case) — unless a
// registry= line says something other than ok (ambiguity 4). Never fails: anything else is
// "not registered" with whatever key=value lines it had in config.
InitAnswer parse_init_answer(std::string_view body);

// "Key=Value\n" per field.
std::string format_config_answer(const Record& config, KeyOrder order = KeyOrder::catalogue);
// Every key=value line (keys and values trimmed); other lines ("OK") are skipped.
Record parse_config_answer(std::string_view body);
// PushOptionsFlag=1 in an init or push answer asks the device to upload its options (4.6,
// ambiguity 24).
bool push_options_requested(const Record& config) noexcept;

// ---- registration (4.4) ---------------------------------------------------------------------------------

struct RegistryAnswer {
  bool accepted = false;
  std::string registry_code;
};
std::string format_registry_answer(std::string_view registry_code);  // "RegistryCode=<c>"
HttpAnswer registry_accepted(std::string_view registry_code);      // 200, "RegistryCode=<c>"
HttpAnswer registry_refused();                                      // 406, body "406" (ambiguity 3)
// Accepted only with HTTP 2xx and a non-empty RegistryCode; "OK", "406", an empty body or any
// other status is a refusal.
RegistryAnswer parse_registry_answer(int status, std::string_view body);

// ---- table acknowledgements (7.5-7.12, 9.1.4, 9.2.1) ----------------------------------------------------

struct TableAck {
  std::string table;                 // as written by the server
  std::optional<std::int64_t> count;
  bool operator==(const TableAck&) const = default;
};
std::string format_table_ack(std::string_view table, std::int64_t count);  // "<table>=<N>"
// "<table>=<N>", "<table>: <N>", "<table>:<N>" (first non-empty line). Error when there is no
// such pair or N is not a number.
Result<TableAck> parse_table_ack(std::string_view body);

// ---- getrequest (8.1) ---------------------------------------------------------------------------------------

std::string format_empty_command_queue();  // "OK" (ambiguity 9)
// Empty, whitespace only, or "OK".
bool is_empty_command_queue(std::string_view body) noexcept;

// ---- rtdata time (9.5.1) --------------------------------------------------------------------------------------

struct TimeAnswer {
  std::int64_t datetime = 0;  // Appendix 5 seconds, GMT (decoding belongs to the time codecs)
  std::string server_tz;      // "+0800"
  bool operator==(const TimeAnswer&) const = default;
};
std::string format_time_answer(const TimeAnswer& answer);  // "DateTime=<n>,ServerTZ=<tz>"
// Separators ',', LF or '&'; keys any case. DateTime is required.
Result<TimeAnswer> parse_time_answer(std::string_view body);
// "+0800" -> 480, "-0330" -> -210; also "+08:00", "+8", "0800". nullopt when unreadable.
std::optional<int> parse_tz_offset(std::string_view tz) noexcept;
std::string format_tz_offset(int minutes);  // 480 -> "+0800"

// ---- exchange envelopes (4.2, 4.3; ambiguity 11) -----------------------------------------------------------

struct ExchangeAnswer {
  std::string key;    // "PublicKey" or "Factors" as written
  std::string value;  // opaque text, trimmed
  bool operator==(const ExchangeAnswer&) const = default;
};
std::string format_exchange_answer(std::string_view key, std::string_view value);  // "<key>=<value>"
// Finds `expected_key` (any case: "Publickey") and trims the value ("PublicKey= x" -> "x").
Result<ExchangeAnswer> parse_exchange_answer(std::string_view body, std::string_view expected_key);

// ---- remote identification (10; ambiguity 41) ---------------------------------------------------------------

enum class AuthResult { success, failed, timeout };
std::string_view auth_result_name(AuthResult result) noexcept;  // "SUCCESS", "FAILED", "TIMEOUT"

struct RemoteAuthAnswer {
  AuthResult auth = AuthResult::failed;
  std::optional<Record> event;     // the echoed event record
  std::string control;             // detail of the CONTROL DEVICE line ("01010105"); "" = none
  std::optional<std::string> tips; // TIPS= text (UTF-8), last line
};
// Lines joined by CR LF, none after the last: AUTH, the event (when present), CONTROL DEVICE
// (only on SUCCESS, without "C:" prefix; dropped otherwise so a failed check never opens a
// door), TIPS (when present).
std::string format_remote_auth_answer(const RemoteAuthAnswer& answer);
// Lines in any order; "C:<id>:CONTROL DEVICE .." is accepted too. Errors: no AUTH line
// (incomplete), an AUTH value other than the three (bad_value).
Result<RemoteAuthAnswer> parse_remote_auth_answer(std::string_view body);

// ---- Range (9.4.1 method 3) --------------------------------------------------------------------------------

struct ByteRange {
  std::uint64_t from = 0;
  std::optional<std::uint64_t> to;  // inclusive; nullopt = to the end
  bool operator==(const ByteRange&) const = default;
};
// "bytes=0-1048575", "bytes=100-", and the manual's bare "0-1048575". nullopt otherwise.
std::optional<ByteRange> parse_range_header(std::string_view value) noexcept;
std::string format_content_range(std::uint64_t from, std::uint64_t to, std::uint64_t total);  // "bytes a-b/t"

// ---- per request ---------------------------------------------------------------------------------------------

// The acknowledgement of an upload that was processed: "<tablename>=<N>" for table uploads
// (tablename as the device sent it, N = records received; ambiguity 8), "OK" for everything
// else that is only acknowledged (ambiguity 9). nullopt for requests whose answer needs server
// data (init, registry, push, exchange, rtdata, remote identification, firmware, unknown).
std::optional<HttpAnswer> upload_ack(const DeviceRequest& request);

// ---- any answer, by endpoint ----------------------------------------------------------------------------------

struct PlainOk {
  bool operator==(const PlainOk&) const = default;
};
struct ConfigAnswer {
  Record config;
};
struct CommandQueue {
  std::string text;  // "" = empty queue
};
struct RawAnswer {
  std::string body;
};

using ServerAnswer = std::variant<PlainOk, InitAnswer, RegistryAnswer, ConfigAnswer, TableAck, CommandQueue,
                                  TimeAnswer, ExchangeAnswer, RemoteAuthAnswer, RawAnswer>;

// The answer to a request of `endpoint`. Upload answers: "OK" -> PlainOk, "<t>=<N>" -> TableAck,
// anything else -> RawAnswer. Statuses other than 2xx are errors except for registry (406).
Result<ServerAnswer> parse_server_answer(Endpoint endpoint, int status, std::string_view body);
// The body again; configuration keys in the order held (KeyOrder::as_given).
std::string format_server_answer(const ServerAnswer& answer);

}  // namespace zkpush::protocol
