// Strict, typed construction of server commands. Every builder returns an Error rather than a
// command the device could misread: unknown table or field, operation the table does not support,
// undocumented delete condition, value that would break the line framing, out-of-range CONTROL
// DEVICE group... Field names are written in the catalogue's spelling whatever case the caller
// used, and in the table's wire order. Each built command is checked to survive format -> parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/commands.hpp"

namespace zkpush::protocol {

using CommandId = std::uint64_t;

// ---- DATA -------------------------------------------------------------------------------------------

// One or more records; every record needs the table's key fields. biodata records must share Type.
Result<Command> data_update(CommandId id, std::string_view table, std::vector<Record> records);
Result<Command> data_update(CommandId id, std::string_view table, Record record);
// Conditions must be one of the table's documented delete conditions (biodata: Type[, Pin[, No]]).
Result<Command> data_delete(CommandId id, std::string_view table, const Record& conditions);
Result<Command> data_delete_all(CommandId id, std::string_view table);  // "*", where documented
// No condition counts the whole table (sent without '*'). biodata/biophoto: Type goes first.
Result<Command> data_count(CommandId id, std::string_view table, const Record& conditions = {});
// filter empty = "*". Conditions use the table's fields (transaction: starttime/endtime together).
Result<Command> data_query(CommandId id, std::string_view table, const Record& filter = {});
// transaction only: records not uploaded yet.
Result<Command> data_query_new_records(CommandId id);

// Section 5: authorise (1 = may push its registration, 2 = final) or remove a sub-controller.
Result<Command> device_authorize(CommandId id, std::string_view sub_sn, int is_authorize);
Result<Command> device_authorize_delete(CommandId id, std::string_view sub_sn);

// ---- ACCOUNT (transaction records check) ------------------------------------------------------------

Result<Command> account_pullsdk(CommandId id, std::uint64_t max_index);
Result<Command> account_max_index(CommandId id, std::uint64_t max_index);
Result<Command> account_index_range(CommandId id, std::uint64_t start_index, std::uint64_t end_index);
// Times as "YYYY-MM-DD HH:MM:SS".
Result<Command> account_time_range(CommandId id, std::string_view start_time, std::string_view end_time);

// ---- devices -----------------------------------------------------------------------------------------

Result<Command> test_host(CommandId id, std::string_view host, std::uint16_t port);
Result<Command> control_device(CommandId id, const ControlDevice& control);
Result<Command> control_device(CommandId id, const Result<ControlDevice>& control);

// checksum: 32 hex digits, the MD5 of the firmware file as stored on the device (written lower-case);
// size: that file's length in bytes. Parameters in each method's wire order.
Result<Command> upgrade_method1(CommandId id, std::string_view checksum, std::string_view url, std::uint64_t size);
Result<Command> upgrade_method2(CommandId id, std::string_view checksum, std::uint64_t size, std::string_view url);
Result<Command> upgrade_method3(CommandId id, std::string_view checksum, std::uint64_t size, std::string_view url,
                                bool server_supports_ranges);

// ---- options -----------------------------------------------------------------------------------------

Result<Command> set_options(CommandId id, Record options);
Result<Command> get_options(CommandId id, std::vector<std::string> keys);
// Keys InOut, Area, Type, URL required; Range, InPlayInterval, OutPlayInterval optional.
Result<Command> set_adscreen_options(CommandId id, const Record& options);
// "Door<n><name>", the per-door spelling SET OPTIONS uses (door_option_key(1, "Drivertime")).
std::string door_option_key(unsigned door, std::string_view name);
// Registration spelling of an option key the manual also prints differently (IcLockSvrFun,
// ~SupAuthrieFunOn); other keys are returned unchanged.
std::string_view canonical_option_key(std::string_view key) noexcept;

// ---- remote enrolment (9.6) --------------------------------------------------------------------------

// type 0 = MF card; mode 0 = upload only, 1 = save and upload.
Result<Command> enroll_info(CommandId id, std::string_view pin, unsigned retry, unsigned mode, unsigned type = 0);
// type: biometric type 0..9; no: instance (finger 0..9, others 0/1).
Result<Command> enroll_bio(CommandId id, unsigned type, unsigned no, std::string_view pin, unsigned retry,
                           bool overwrite, unsigned mode);

}  // namespace zkpush::protocol
