#include "protocol/command_builders.hpp"

#include <algorithm>
#include <string>

#include "protocol/commands_internal.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

// Validates, then proves the command reads back as built.
Result<Command> finish(Command c) {
  if (auto st = validate_command(c); !st) return st.error();
  if (auto st = detail::check_round_trip(c); !st) return st.error();
  return c;
}

Command make(CommandId id, CommandBody body) {
  Command c;
  c.id = std::to_string(id);
  c.body = std::move(body);
  return c;
}

Result<const TableSpec*> table_for(std::string_view name, TableOp op, const char* verb) {
  const TableSpec* t = find_table(name);
  if (!t) return make_error(Errc::unsupported, "unknown table '" + std::string(name) + "'", "table");
  if (!t->supports(op))
    return make_error(Errc::unsupported, "table " + std::string(t->name) + " has no documented " + verb, "table");
  return t;
}

// Position of a field in the table's wire order: update list, then upload list; unknown = npos.
std::size_t order_of(const TableSpec& t, std::string_view key, std::string& spelling) {
  if (const FieldSpec* f = detail::match_field(t.update_fields, key)) {
    spelling = std::string(f->name);
    return static_cast<std::size_t>(f - t.update_fields.data());
  }
  if (const FieldSpec* f = detail::match_field(t.upload_fields, key)) {
    spelling = std::string(f->name);
    return t.update_fields.size() + static_cast<std::size_t>(f - t.upload_fields.data());
  }
  return std::string_view::npos;
}

// Catalogue spelling and wire order; `type_first` puts biodata/biophoto Type ahead (9.1.2-9.1.4).
// Keys in `extra` are kept as given, after the schema fields.
Result<Record> canonical(const TableSpec& t, const Record& in, bool update_only, bool type_first,
                         std::span<const std::string_view> extra = {}) {
  struct Item {
    std::size_t order;
    Field field;
  };
  std::vector<Item> items;
  for (std::size_t i = 0; i < in.fields.size(); ++i) {
    const Field& f = in.fields[i];
    std::string spelling;
    std::size_t order = std::string_view::npos;
    if (update_only) {
      if (const FieldSpec* spec = match_update_field(t, f.key)) {
        spelling = std::string(spec->name);
        order = static_cast<std::size_t>(spec - t.update_fields.data());
      }
    } else {
      order = order_of(t, f.key, spelling);
    }
    if (order == std::string_view::npos) {
      auto e = std::find_if(extra.begin(), extra.end(), [&](std::string_view k) { return text::iequals(k, f.key); });
      if (e == extra.end())
        return make_error(Errc::unsupported, "table " + std::string(t.name) + " has no field '" + f.key + "'",
                          "field '" + f.key + "'");
      spelling = std::string(*e);
      order = 100000 + static_cast<std::size_t>(e - extra.begin());
    }
    // Slot 0 is reserved for a leading Type; everything else keeps its relative order.
    order = (type_first && text::iequals(spelling, "Type")) ? 0 : order + 1;
    for (const Item& other : items)
      if (other.field.key == spelling) return make_error(Errc::bad_value, "field given twice", "field '" + f.key + "'");
    items.push_back(Item{order, Field{spelling, f.value, f.has_value}});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.order < b.order; });
  Record out;
  for (auto& item : items) out.fields.push_back(std::move(item.field));
  return out;
}

bool is_bio(const TableSpec& t) { return t.name == "biodata" || t.name == "biophoto"; }

std::string wire_table_name(const TableSpec& t, TableOp op) {
  // The access-point list is a virtual table whose brackets are part of its name in a query.
  if (op == op_query && t.name == "APList") return "[APList]";
  return std::string(t.name);
}

}  // namespace

// ---- DATA -------------------------------------------------------------------------------------------

Result<Command> data_update(CommandId id, std::string_view table, std::vector<Record> records) {
  auto t = table_for(table, op_update, "DATA UPDATE");
  if (!t) return t.error();
  if (records.empty()) return make_error(Errc::incomplete, "DATA UPDATE needs at least one record", "records");
  DataUpdate d;
  d.table = wire_table_name(**t, op_update);
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto r = canonical(**t, records[i], true, false);
    if (!r) {
      Error e = std::move(r).error();
      e.where = "record " + std::to_string(i + 1) + " " + e.where;
      return e;
    }
    d.records.push_back(std::move(r).value());
  }
  return finish(make(id, std::move(d)));
}

Result<Command> data_update(CommandId id, std::string_view table, Record record) {
  std::vector<Record> records;
  records.push_back(std::move(record));
  return data_update(id, table, std::move(records));
}

Result<Command> data_delete(CommandId id, std::string_view table, const Record& conditions) {
  auto t = table_for(table, op_delete, "DATA DELETE");
  if (!t) return t.error();
  if (conditions.empty()) return make_error(Errc::incomplete, "use data_delete_all() to clear a table", "conditions");
  auto c = canonical(**t, conditions, false, is_bio(**t));
  if (!c) return c.error();
  DataDelete d;
  d.table = wire_table_name(**t, op_delete);
  d.conditions = std::move(c).value();
  return finish(make(id, std::move(d)));
}

Result<Command> data_delete_all(CommandId id, std::string_view table) {
  auto t = table_for(table, op_delete, "DATA DELETE");
  if (!t) return t.error();
  DataDelete d;
  d.table = wire_table_name(**t, op_delete);
  d.all = true;
  return finish(make(id, std::move(d)));
}

Result<Command> data_count(CommandId id, std::string_view table, const Record& conditions) {
  auto t = table_for(table, op_count, "DATA COUNT");
  if (!t) return t.error();
  auto c = canonical(**t, conditions, false, is_bio(**t));
  if (!c) return c.error();
  DataCount d;
  d.table = wire_table_name(**t, op_count);
  d.conditions = std::move(c).value();
  return finish(make(id, std::move(d)));
}

Result<Command> data_query(CommandId id, std::string_view table, const Record& filter) {
  auto t = table_for(table, op_query, "DATA QUERY");
  if (!t) return t.error();
  static constexpr std::string_view kTimeKeys[] = {"starttime", "endtime"};
  std::span<const std::string_view> extra;
  if ((*t)->name == "transaction") extra = kTimeKeys;
  auto f = canonical(**t, filter, false, is_bio(**t), extra);
  if (!f) return f.error();
  DataQuery q;
  q.table = wire_table_name(**t, op_query);
  q.filter = std::move(f).value();
  if (!q.filter.empty()) q.filter_text.clear();
  return finish(make(id, std::move(q)));
}

Result<Command> data_query_new_records(CommandId id) {
  DataQuery q;
  q.table = "transaction";
  q.filter_text = "NewRecord";
  return finish(make(id, std::move(q)));
}

Result<Command> device_authorize(CommandId id, std::string_view sub_sn, int is_authorize) {
  return data_update(id, "DeviceAuthorize", Record{{"SN", std::string(sub_sn)}, {"IsAuthorize", std::to_string(is_authorize)}});
}

Result<Command> device_authorize_delete(CommandId id, std::string_view sub_sn) {
  return data_delete(id, "DeviceAuthorize", Record{{"SN", std::string(sub_sn)}});
}

// ---- ACCOUNT ----------------------------------------------------------------------------------------

Result<Command> account_pullsdk(CommandId id, std::uint64_t max_index) {
  AccountCommand a;
  a.form = AccountForm::pullsdk;
  a.max_index = max_index;
  return finish(make(id, a));
}

Result<Command> account_max_index(CommandId id, std::uint64_t max_index) {
  AccountCommand a;
  a.form = AccountForm::max_index;
  a.max_index = max_index;
  return finish(make(id, a));
}

Result<Command> account_index_range(CommandId id, std::uint64_t start_index, std::uint64_t end_index) {
  AccountCommand a;
  a.form = AccountForm::index_range;
  a.start_index = start_index;
  a.end_index = end_index;
  return finish(make(id, a));
}

Result<Command> account_time_range(CommandId id, std::string_view start_time, std::string_view end_time) {
  AccountCommand a;
  a.form = AccountForm::time_range;
  a.start_time = std::string(start_time);
  a.end_time = std::string(end_time);
  return finish(make(id, a));
}

// ---- devices -----------------------------------------------------------------------------------------

Result<Command> test_host(CommandId id, std::string_view host, std::uint16_t port) {
  if (host.empty() || host.find(':') != std::string_view::npos)
    return make_error(Errc::bad_value, "Test Host needs an IPv4 address or host name", "host");
  return finish(make(id, TestHost{std::string(host) + ':' + std::to_string(port)}));
}

Result<Command> control_device(CommandId id, const ControlDevice& control) { return finish(make(id, control)); }

Result<Command> control_device(CommandId id, const Result<ControlDevice>& control) {
  if (!control) return control.error();
  return control_device(id, control.value());
}

namespace {
Result<Command> upgrade(CommandId id, int method, std::string_view checksum, std::uint64_t size, std::string_view url,
                        std::optional<int> ranges) {
  Upgrade u;
  u.method = method;
  u.checksum = text::to_lower(checksum);
  u.size = size;
  u.url = std::string(url);
  u.support_subcontracting = ranges;
  return finish(make(id, std::move(u)));
}
}  // namespace

Result<Command> upgrade_method1(CommandId id, std::string_view checksum, std::string_view url, std::uint64_t size) {
  return upgrade(id, 1, checksum, size, url, std::nullopt);
}

Result<Command> upgrade_method2(CommandId id, std::string_view checksum, std::uint64_t size, std::string_view url) {
  return upgrade(id, 2, checksum, size, url, std::nullopt);
}

Result<Command> upgrade_method3(CommandId id, std::string_view checksum, std::uint64_t size, std::string_view url,
                                bool server_supports_ranges) {
  return upgrade(id, 3, checksum, size, url, server_supports_ranges ? 1 : 0);
}

// ---- options -----------------------------------------------------------------------------------------

Result<Command> set_options(CommandId id, Record options) {
  options.prefix.clear();
  return finish(make(id, SetOptions{std::move(options)}));
}

Result<Command> get_options(CommandId id, std::vector<std::string> keys) {
  return finish(make(id, GetOptions{std::move(keys)}));
}

Result<Command> set_adscreen_options(CommandId id, const Record& options) {
  static constexpr std::string_view kOrder[] = {"InOut", "Area", "Type", "Range", "URL", "InPlayInterval", "OutPlayInterval"};
  Record out;
  for (std::string_view key : kOrder)
    if (auto v = options.get(key)) out.add(key, *v);
  for (const Field& f : options.fields)
    if (std::none_of(std::begin(kOrder), std::end(kOrder), [&](std::string_view k) { return text::iequals(k, f.key); }))
      return make_error(Errc::unsupported, "SET ADSCREEN_OPTIONS has no key '" + f.key + "'", "SET ADSCREEN_OPTIONS");
  if (out.size() != options.size()) return make_error(Errc::bad_value, "key given twice", "SET ADSCREEN_OPTIONS");
  return finish(make(id, SetAdscreenOptions{std::move(out)}));
}

std::string door_option_key(unsigned door, std::string_view name) {
  return "Door" + std::to_string(door) + std::string(name);
}

std::string_view canonical_option_key(std::string_view key) noexcept {
  if (text::iequals(key, "IclockSvrFun")) return "IclockSvrFun";
  if (text::iequals(key, "~SupAuthrieFunOn") || text::iequals(key, "~SupAuthrizeFunOn")) return "~SupAuthrizeFunOn";
  return key;
}

// ---- remote enrolment --------------------------------------------------------------------------------

Result<Command> enroll_info(CommandId id, std::string_view pin, unsigned retry, unsigned mode, unsigned type) {
  Record r{{"TYPE", std::to_string(type)}, {"PIN", std::string(pin)}, {"RETRY", std::to_string(retry)},
           {"MODE", std::to_string(mode)}};
  return finish(make(id, EnrollInfo{std::move(r)}));
}

Result<Command> enroll_bio(CommandId id, unsigned type, unsigned no, std::string_view pin, unsigned retry, bool overwrite,
                           unsigned mode) {
  Record r{{"TYPE", std::to_string(type)}, {"NO", std::to_string(no)},
           {"PIN", std::string(pin)},      {"RETRY", std::to_string(retry)},
           {"OVERWRITE", overwrite ? "1" : "0"}, {"MODE", std::to_string(mode)}};
  return finish(make(id, EnrollBio{std::move(r)}));
}

}  // namespace zkpush::protocol
