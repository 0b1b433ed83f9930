// The data tables of PUSH 3.1.2: which operations each supports, and its fields in wire order.
//
// The rows are generated from the protocol catalogue (tools/gen_spec_tables.py); this header is
// the hand-written interface to them. Lookups accept any case because firmware varies.
#pragma once

#include <span>
#include <string_view>

namespace zkpush::protocol {

enum class FieldType {
  text, integer, boolean, enumerated, hex, base64,
  date8,            // YYYYMMDD
  zktime,           // Appendix 5 seconds
  zktime_or_date8,  // user StartTime/EndTime: depends on DateFmtFunOn
  datetime,         // YYYY-MM-DD HH:MM:SS
  timerange,        // (start_hhmm << 16) | end_hhmm
  doormask,         // bit n-1 = door n
  cardno,           // "[15CD5B07]" little-endian bytes, or decimal
  bitmask,
  verifytype,       // Appendix 3 code, or a 16-char VERIFY_TYPE bit string
};

const char* field_type_name(FieldType type) noexcept;

struct EnumValue {
  std::string_view code;
  std::string_view name;
};

struct FieldSpec {
  std::string_view name;              // spelling of the manual's grammar
  FieldType type;
  std::span<const EnumValue> values;  // allowed values, when the table lists them
  std::string_view enum_ref;          // enums.hpp table id whose codes this field holds ("" if none)
};

enum TableOp : unsigned {
  op_update = 1u << 0,   // DATA UPDATE
  op_delete = 1u << 1,   // DATA DELETE
  op_count = 1u << 2,    // DATA COUNT
  op_query = 1u << 3,    // DATA QUERY
  op_upload = 1u << 4,   // device -> server upload
  op_account = 1u << 5,  // ACCOUNT
  op_set = 1u << 6,      // SET OPTIONS
  op_get = 1u << 7,      // GET OPTIONS
};

struct TableSpec {
  std::string_view name;                        // name on the wire, as in the catalogue
  unsigned ops;                                 // TableOp bits
  std::span<const std::string_view> key_fields;
  std::span<const FieldSpec> update_fields;     // server -> device (DATA UPDATE), wire order
  std::string_view upload_prefix;               // table word of uploads ("" = records have none)
  std::span<const FieldSpec> upload_fields;     // device -> server, wire order
  std::span<const std::string_view> delete_conditions;

  bool supports(TableOp op) const noexcept { return (ops & op) != 0; }
  const FieldSpec* update_field(std::string_view key) const noexcept;  // any case
  const FieldSpec* upload_field(std::string_view key) const noexcept;  // any case
  // Either list; update spelling first. Used to describe a field whatever its direction.
  const FieldSpec* field(std::string_view key) const noexcept;
};

std::span<const TableSpec> all_tables() noexcept;
// By wire name: the exact spelling first, then any case; "[APList]" finds APList. nullptr when
// unknown.
const TableSpec* find_table(std::string_view name) noexcept;

namespace detail {
std::span<const TableSpec> table_specs() noexcept;  // generated
}

}  // namespace zkpush::protocol
