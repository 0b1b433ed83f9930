// Server -> device commands: the lines a server puts in the body of a getrequest answer
// (manual 8.1 and 9, Appendix 14), as a typed model with one formatter and one tolerant parser.
//
//   C:<id>:<verb> <detail>               one command; several are separated by LF
//   <record>                             a DATA UPDATE continuation record (no "C:")
//   DataType=1, SN=.., Priority=.., CmdID=.., CmdDesc=C:<id>:...    CmdFormat=1 (Appendix 14)
//
// Parsing keeps what was sent (table and key spellings, field order, the command id as text) so
// that format(parse(x)) reproduces a well-formed x. Building goes through the strict builders of
// command_builders.hpp, which spell and order everything the way the catalogue does.
// The choices this file makes where the manual is unclear are in docs/protocol-decisions.md (13-23).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/control_device.hpp"
#include "protocol/fields.hpp"
#include "protocol/result.hpp"
#include "protocol/schema.hpp"

namespace zkpush::protocol {

enum class Verb {
  data_update,
  data_delete,
  data_count,
  data_query,
  account,
  test_host,
  control_device,
  upgrade,
  set_options,
  get_options,
  set_adscreen_options,
  enroll_info,
  enroll_bio,
  unknown,
};

// Wire spelling: "DATA UPDATE", "Test Host", "SET ADSCREEN_OPTIONS"...; "" for unknown.
std::string_view verb_name(Verb verb) noexcept;
// Tolerant reverse lookup: any case, '_' or runs of spaces between words ("SET_OPTIONS").
// nullopt for text that names no single verb (notably the bare "DATA" of many results).
std::optional<Verb> verb_from_name(std::string_view name) noexcept;

// ---- one struct per verb --------------------------------------------------------------------------

struct DataUpdate {
  std::string table;            // as sent
  std::vector<Record> records;  // first on the C: line, the others on continuation lines
  bool operator==(const DataUpdate&) const = default;
};

struct DataDelete {
  std::string table;
  Record conditions;  // ANDed
  bool all = false;   // "*": the whole table
  bool operator==(const DataDelete&) const = default;
};

// No condition and no '*' counts the whole table, as does '*'; `all` records that '*' was sent.
struct DataCount {
  std::string table;
  Record conditions;
  bool all = false;
  bool counts_whole_table() const noexcept { return all || conditions.empty(); }
  bool operator==(const DataCount&) const = default;
};

struct DataQuery {
  std::string table;             // wire name, "[APList]" with its brackets
  std::string fielddesc = "*";
  Record filter;                 // HT-separated conditions; when empty, filter_text applies
  std::string filter_text = "*"; // "*" or "NewRecord" (transaction)
  bool operator==(const DataQuery&) const = default;
};

enum class AccountForm {
  pullsdk,      // transaction ContentType=tgz MaxIndex=N        (9.2.1, SP separated)
  max_index,    // transaction MaxIndex=N                        (9.2.2)
  index_range,  // transaction StartIndex=A<HT>EndIndex=B        (9.2.2)
  time_range,   // transaction StartTime=T1<HT>EndTime=T2        (9.2.2, "YYYY-MM-DD HH:MM:SS")
};

struct AccountCommand {
  AccountForm form = AccountForm::max_index;
  std::string table = "transaction";
  std::string content_type = "tgz";  // pullsdk only
  std::uint64_t max_index = 0;       // pullsdk, max_index
  std::uint64_t start_index = 0;     // index_range
  std::uint64_t end_index = 0;
  std::string start_time;            // time_range
  std::string end_time;
  bool operator==(const AccountCommand&) const = default;
};

struct TestHost {
  std::string address;  // "ip:port"
  bool operator==(const TestHost&) const = default;
};

// Method 1: checksum,url,size  (server base64-encodes the file; GET /iclock/file)
// Method 2: type=1,checksum,size,url  (raw file; GET /iclock/file)
// Method 3: checksum,size,url[,supportsubcontracting]  (direct GET of url with Range)
struct Upgrade {
  int method = 2;
  std::string checksum;
  std::string url;
  std::uint64_t size = 0;
  std::string type = "1";                       // method 2 only
  std::optional<int> support_subcontracting;    // method 3 only; absent in the manual's example
  bool operator==(const Upgrade&) const = default;
};

struct SetOptions {
  Record options;  // comma list
  bool operator==(const SetOptions&) const = default;
};

struct GetOptions {
  std::vector<std::string> keys;
  bool operator==(const GetOptions&) const = default;
};

struct SetAdscreenOptions {
  Record options;  // comma list: InOut, Area, Type, Range, URL, InPlayInterval/OutPlayInterval
  bool operator==(const SetAdscreenOptions&) const = default;
};

struct EnrollInfo {
  Record params;  // TYPE, PIN, RETRY, MODE (HT separated)
  bool operator==(const EnrollInfo&) const = default;
};

struct EnrollBio {
  Record params;  // TYPE, NO, PIN, RETRY, OVERWRITE, MODE (HT separated)
  bool operator==(const EnrollBio&) const = default;
};

// A verb this library does not know, kept so that one odd line does not lose a whole body.
struct UnknownCommand {
  std::string verb;    // first word after "C:<id>:"
  std::string detail;  // everything after the SP that follows it
  bool operator==(const UnknownCommand&) const = default;
};

using CommandBody = std::variant<DataUpdate, DataDelete, DataCount, DataQuery, AccountCommand, TestHost,
                                 ControlDevice, Upgrade, SetOptions, GetOptions, SetAdscreenOptions,
                                 EnrollInfo, EnrollBio, UnknownCommand>;

// The Appendix 14 wrapper as received ("DataType=1, SN=.., [Priority=.., ]CmdID=.., CmdDesc=").
struct Envelope {
  std::int64_t data_type = 1;
  std::string sn;
  std::optional<std::int64_t> priority;  // the manual's examples leave it out
  bool operator==(const Envelope&) const = default;
};

struct Command {
  std::string id;  // as sent; builders write the decimal of their 64-bit id
  CommandBody body;
  std::optional<Envelope> envelope;  // set by the parser for CmdFormat=1 lines

  // NOLINTNEXTLINE(bugprone-exception-escape): std::visit throws only on a valueless body (commands.cpp)
  Verb verb() const noexcept;
  std::optional<std::uint64_t> numeric_id() const noexcept;
  bool operator==(const Command&) const = default;
};

// ---- formatting -----------------------------------------------------------------------------------

struct CommandFormat {
  int cmd_format = 0;                         // the device's CmdFormat (registration): 0 or 1
  std::int64_t data_type = 1;                 // CmdFormat=1 only
  std::string sn;                             // CmdFormat=1: device (or sub-controller) addressed
  std::optional<std::int64_t> priority = 0;   // CmdFormat=1: nullopt leaves Priority= out
};

// The format a parsed command arrived in (CmdFormat=1 with its envelope, else plain).
CommandFormat format_of(const Command& command);

// Exact wire text of one command, continuation records after LF, no final LF. Formatting does not
// validate: use validate_command() or the builders for that.
std::string format_command(const Command& command, const CommandFormat& format = {});
// The getrequest body: every command followed by LF ("" when there is none).
std::string format_getrequest_body(std::span<const Command> commands, const CommandFormat& format = {});

// ---- parsing ----------------------------------------------------------------------------------------

// Limits that turn hostile input into Errc::too_large instead of memory exhaustion.
inline constexpr std::size_t max_commands_body = 64u * 1024 * 1024;
inline constexpr std::size_t max_commands_per_body = 100000;

// A whole getrequest body: LF or CRLF, trailing NUL/LF tolerated, blank lines skipped.
// An empty body (or "OK") gives an empty list. Any malformed line fails the whole body.
Result<std::vector<Command>> parse_commands(std::string_view body);
// Exactly one command (with its continuation lines).
Result<Command> parse_command(std::string_view text);

// ---- checking against the catalogue ------------------------------------------------------------------

// The same rules the builders enforce (table supports the operation, fields exist, documented
// delete conditions, CONTROL DEVICE ranges, UPGRADE parameters...). For parsed commands, field
// names match in any case and with or without '_' (see decision 25).
Status validate_command(const Command& command);

// The table a device should act on. Normally the named one; for the manual's two misnamed
// examples it is the table whose fields the command uses: DATA DELETE WGFormat ReaderID=/DevID=
// means ReaderWGFormat, DATA UPDATE biodata with AuthorizeFloors means userleauthorize.
// nullptr for commands without a table (only DATA and ACCOUNT have one) and unknown tables.
const TableSpec* effective_table(const Command& command);

// Field of `table` matching `key` in any case, with or without underscores (ValidInfo/Valid_Info).
const FieldSpec* match_update_field(const TableSpec& table, std::string_view key) noexcept;

// ---- catalogue ids (commands.yaml) ------------------------------------------------------------------

// data_update, data_delete, data_count, data_query, account_pullsdk, account_controller, test_host,
// control_device, upgrade_method1/2/3, set_options, get_options, set_adscreen_options, enroll_info,
// enroll_bio, device_authorize (DATA UPDATE/DELETE on table DeviceAuthorize). "" for unknown verbs.
std::string_view catalogue_id(const Command& command);
std::span<const std::string_view> catalogue_ids() noexcept;
// A valid command of that catalogue entry, built with the builders (id 1); nullopt if unknown id.
std::optional<Command> example_command_for(std::string_view catalogue_id);

}  // namespace zkpush::protocol
