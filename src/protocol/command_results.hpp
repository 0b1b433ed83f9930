// Command results: the body of POST /iclock/devicecmd (manual 7.4), one line per executed command,
//   ID=<id>&Return=<code>&CMD=<verb>[&SN=<sub-controller>]
// plus whatever a verb appends (ACCOUNT: "&transaction&StartTime=&EndTime=&RecordSum=N").
//
// The CMD text is unreliable ("DATA" for every DATA verb, "SET_OPTIONS", "DATA COUNT" after a
// QUERY...): a result belongs to the command with the same ID, and its Return is read according to
// that command's verb, not according to CMD.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/commands.hpp"
#include "protocol/fields.hpp"
#include "protocol/result.hpp"

namespace zkpush::protocol {

struct CommandResult {
  std::string id;
  std::int64_t return_code = 0;
  std::string return_text;         // as sent, minus padding ("+3"...)
  std::string cmd;                 // CMD= as sent
  std::optional<std::string> sn;   // sub-controller that executed it (Appendix 15)
  Record fields;                   // every field as received, in order, keys as sent

  // Fields other than ID/Return/CMD/SN, in order (ACCOUNT's tail).
  std::vector<Field> extra_fields() const;
  bool operator==(const CommandResult&) const = default;
};

// A result as a device would send it; `extra` goes after CMD (and before SN).
CommandResult make_command_result(std::string_view id, std::int64_t return_code, std::string_view cmd,
                                  std::optional<std::string_view> sn = std::nullopt, std::vector<Field> extra = {});
// The result a device reports for `command` (CMD = the command's verb name).
CommandResult make_command_result(const Command& command, std::int64_t return_code,
                                  std::optional<std::string_view> sn = std::nullopt);

inline constexpr std::size_t max_results_body = 16u * 1024 * 1024;

// One line; keys in any case (Return/return). ID and an integer Return are required.
Result<CommandResult> parse_command_result(std::string_view line);
// A devicecmd body: results separated by LF or CRLF; blank lines, trailing NUL ignored.
Result<std::vector<CommandResult>> parse_command_results(std::string_view body);

// "ID=..&Return=..&CMD=..", the extra fields, then "&SN=.." when set. Always "Return=" (decision 12).
std::string format_command_result(const CommandResult& result);
// Results joined by LF, no final LF.
std::string format_command_results(std::span<const CommandResult> results);

// ---- meaning of Return -------------------------------------------------------------------------------

enum class ReturnKind {
  status_ok,      // executed (status verbs: >= 0)
  status_failed,  // not executed; name says why (Appendix 1)
  count,          // executed, Return is a number of records (DATA QUERY / DATA COUNT / ACCOUNT)
  pending,        // -5000: a master controller queued it for a sub-controller; another result follows
  repeated,       // -7: the device already ran this ID; the earlier result stands, do not resend
};
const char* return_kind_name(ReturnKind kind) noexcept;

struct ReturnMeaning {
  ReturnKind kind = ReturnKind::status_failed;
  std::int64_t value = 0;             // the record count for ReturnKind::count, else the code
  std::optional<std::string_view> name;  // Appendix 1 text, when the code is listed
  bool succeeded() const noexcept { return kind == ReturnKind::status_ok || kind == ReturnKind::count; }
  bool final() const noexcept { return kind != ReturnKind::pending; }
};

// `verb` is the verb of the command the result answers (matched by ID), not the result's CMD.
ReturnMeaning interpret_return(Verb verb, std::int64_t return_code) noexcept;

// The verb a CMD text names, when it names exactly one ("DATA" names none).
std::optional<Verb> verb_of_result_cmd(std::string_view cmd) noexcept;

// The command a result answers: same ID (compared as text, then numerically: "007" is 7).
const Command* find_command_for(const CommandResult& result, std::span<const Command> commands) noexcept;

}  // namespace zkpush::protocol
