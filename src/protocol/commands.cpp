#include "protocol/commands.hpp"

#include <string>

#include "protocol/command_builders.hpp"
#include "protocol/commands_internal.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr detail::VerbSpelling kVerbs[] = {
    {Verb::data_update, "DATA UPDATE"},
    {Verb::data_delete, "DATA DELETE"},
    {Verb::data_count, "DATA COUNT"},
    {Verb::data_query, "DATA QUERY"},
    {Verb::account, "ACCOUNT"},
    {Verb::test_host, "Test Host"},
    {Verb::control_device, "CONTROL DEVICE"},
    {Verb::upgrade, "UPGRADE"},
    {Verb::set_options, "SET OPTIONS"},
    {Verb::get_options, "GET OPTIONS"},
    {Verb::set_adscreen_options, "SET ADSCREEN_OPTIONS"},
    {Verb::enroll_info, "ENROLL_INFO"},
    {Verb::enroll_bio, "ENROLL_BIO"},
};

bool is_word_separator(char c) noexcept { return c == ' ' || c == '_' || c == '\t'; }

// HT-joined fields, never the record's prefix word (command records have none).
std::string join_fields(const Record& record, char sep) {
  std::string out;
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (i) out += sep;
    out += record.fields[i].key;
    if (record.fields[i].has_value) {
      out += '=';
      out += record.fields[i].value;
    }
  }
  return out;
}

std::string account_detail(const AccountCommand& a) {
  std::string out = a.table + ' ';
  switch (a.form) {
    case AccountForm::pullsdk:
      return out + "ContentType=" + a.content_type + " MaxIndex=" + std::to_string(a.max_index);
    case AccountForm::max_index:
      return out + "MaxIndex=" + std::to_string(a.max_index);
    case AccountForm::index_range:
      return out + "StartIndex=" + std::to_string(a.start_index) + "\tEndIndex=" + std::to_string(a.end_index);
    case AccountForm::time_range:
      return out + "StartTime=" + a.start_time + "\tEndTime=" + a.end_time;
  }
  return out;
}

std::string upgrade_detail(const Upgrade& u) {
  const std::string size = "size=" + std::to_string(u.size);
  const std::string checksum = "checksum=" + u.checksum;
  const std::string url = "url=" + u.url;
  switch (u.method) {
    case 1:
      return checksum + ',' + url + ',' + size;
    case 3: {
      std::string out = checksum + ',' + size + ',' + url;
      if (u.support_subcontracting) out += ",supportsubcontracting=" + std::to_string(*u.support_subcontracting);
      return out;
    }
    default:
      return "type=" + u.type + ',' + checksum + ',' + size + ',' + url;
  }
}

// Everything after "C:<id>:" on the first line, and the continuation lines (DATA UPDATE only).
struct Rendered {
  std::string first;
  std::vector<std::string> more;
};

Rendered render(const Command& c) {
  Rendered r;
  auto with_verb = [&](Verb v, const std::string& detail) {
    r.first = std::string(verb_name(v));
    if (!detail.empty()) {
      r.first += ' ';
      r.first += detail;
    }
  };
  std::visit(detail::overloaded{
                 [&](const DataUpdate& d) {
                   std::string detail = d.table;
                   if (!d.records.empty()) {
                     if (!detail.empty()) detail += ' ';
                     detail += join_fields(d.records.front(), '\t');
                   }
                   with_verb(Verb::data_update, detail);
                   for (std::size_t i = 1; i < d.records.size(); ++i) r.more.push_back(join_fields(d.records[i], '\t'));
                 },
                 [&](const DataDelete& d) {
                   with_verb(Verb::data_delete, d.table + ' ' + (d.all ? std::string("*") : join_fields(d.conditions, '\t')));
                 },
                 [&](const DataCount& d) {
                   std::string detail = d.table;
                   if (d.all) detail += " *";
                   else if (!d.conditions.empty()) detail += ' ' + join_fields(d.conditions, '\t');
                   with_verb(Verb::data_count, detail);
                 },
                 [&](const DataQuery& d) {
                   std::string filter = d.filter.empty() ? d.filter_text : join_fields(d.filter, '\t');
                   with_verb(Verb::data_query, "tablename=" + d.table + ",fielddesc=" + d.fielddesc + ",filter=" + filter);
                 },
                 [&](const AccountCommand& a) { with_verb(Verb::account, account_detail(a)); },
                 [&](const TestHost& t) { with_verb(Verb::test_host, "Address=" + t.address); },
                 [&](const ControlDevice& cd) { with_verb(Verb::control_device, format_control_device(cd)); },
                 [&](const Upgrade& u) { with_verb(Verb::upgrade, upgrade_detail(u)); },
                 [&](const SetOptions& s) { with_verb(Verb::set_options, format_comma_list(s.options)); },
                 [&](const GetOptions& g) { with_verb(Verb::get_options, text::join(g.keys, ",")); },
                 [&](const SetAdscreenOptions& s) { with_verb(Verb::set_adscreen_options, format_comma_list(s.options)); },
                 [&](const EnrollInfo& e) { with_verb(Verb::enroll_info, join_fields(e.params, '\t')); },
                 [&](const EnrollBio& e) { with_verb(Verb::enroll_bio, join_fields(e.params, '\t')); },
                 [&](const UnknownCommand& u) {
                   r.first = u.verb;
                   if (!u.detail.empty()) {
                     r.first += ' ';
                     r.first += u.detail;
                   }
                 },
             },
             c.body);
  return r;
}

}  // namespace

namespace detail {

std::span<const VerbSpelling> verb_spellings() noexcept { return kVerbs; }

std::size_t match_verb(std::string_view text, std::string_view name) noexcept {
  std::size_t pos = 0;
  std::size_t n = 0;
  while (n < name.size()) {
    if (is_word_separator(name[n])) {
      // One or more separators in the text stand for one in the name.
      if (pos >= text.size() || !is_word_separator(text[pos])) return std::string_view::npos;
      while (pos < text.size() && is_word_separator(text[pos])) ++pos;
      ++n;
      continue;
    }
    std::size_t end = n;
    while (end < name.size() && !is_word_separator(name[end])) ++end;
    std::string_view word = name.substr(n, end - n);
    if (!text::istarts_with(text.substr(pos), word)) return std::string_view::npos;
    pos += word.size();
    n = end;
  }
  if (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') return std::string_view::npos;
  return pos;
}

}  // namespace detail

std::string_view verb_name(Verb verb) noexcept {
  for (const auto& v : kVerbs)
    if (v.verb == verb) return v.name;
  return {};
}

std::optional<Verb> verb_from_name(std::string_view name) noexcept {
  name = text::trim_line(name);
  for (const auto& v : kVerbs) {
    std::size_t used = detail::match_verb(name, v.name);
    if (used != std::string_view::npos && text::trim(name.substr(used)).empty()) return v.verb;
  }
  return std::nullopt;
}

// std::visit throws bad_variant_access only for a body left valueless by an assignment that threw;
// verb() of such a Command terminating (noexcept) is what we want.
Verb Command::verb() const noexcept {  // NOLINT(bugprone-exception-escape): see above
  return std::visit(detail::overloaded{
                        [](const DataUpdate&) { return Verb::data_update; },
                        [](const DataDelete&) { return Verb::data_delete; },
                        [](const DataCount&) { return Verb::data_count; },
                        [](const DataQuery&) { return Verb::data_query; },
                        [](const AccountCommand&) { return Verb::account; },
                        [](const TestHost&) { return Verb::test_host; },
                        [](const ControlDevice&) { return Verb::control_device; },
                        [](const Upgrade&) { return Verb::upgrade; },
                        [](const SetOptions&) { return Verb::set_options; },
                        [](const GetOptions&) { return Verb::get_options; },
                        [](const SetAdscreenOptions&) { return Verb::set_adscreen_options; },
                        [](const EnrollInfo&) { return Verb::enroll_info; },
                        [](const EnrollBio&) { return Verb::enroll_bio; },
                        [](const UnknownCommand&) { return Verb::unknown; },
                    },
                    body);
}

std::optional<std::uint64_t> Command::numeric_id() const noexcept {
  for (char c : id)
    if (c < '0' || c > '9') return std::nullopt;
  return text::parse_uint(id);
}

// ---- formatting -----------------------------------------------------------------------------------

CommandFormat format_of(const Command& command) {
  CommandFormat f;
  if (command.envelope) {
    f.cmd_format = 1;
    f.data_type = command.envelope->data_type;
    f.sn = command.envelope->sn;
    f.priority = command.envelope->priority;
  }
  return f;
}

std::string format_command(const Command& command, const CommandFormat& format) {
  Rendered r = render(command);
  std::string out;
  if (format.cmd_format == 1) {
    // Appendix 14: the prefix goes on the C: line only; continuation records stay bare.
    out += "DataType=" + std::to_string(format.data_type) + ", SN=" + format.sn;
    if (format.priority) out += ", Priority=" + std::to_string(*format.priority);
    out += ", CmdID=" + command.id + ", CmdDesc=";
  }
  out += "C:" + command.id + ':' + r.first;
  for (const auto& line : r.more) {
    out += '\n';
    out += line;
  }
  return out;
}

std::string format_getrequest_body(std::span<const Command> commands, const CommandFormat& format) {
  std::string out;
  for (const Command& c : commands) {
    out += format_command(c, format);
    out += '\n';
  }
  return out;
}

// ---- catalogue ids --------------------------------------------------------------------------------

namespace {
constexpr std::string_view kCatalogueIds[] = {
    "data_update",     "data_delete",     "data_count",      "data_query",  "account_pullsdk",
    "account_controller", "test_host",    "control_device",  "upgrade_method1", "upgrade_method2",
    "upgrade_method3", "set_options",     "get_options",     "set_adscreen_options", "enroll_info",
    "enroll_bio",      "device_authorize",
};
}  // namespace

std::span<const std::string_view> catalogue_ids() noexcept { return kCatalogueIds; }

std::string_view catalogue_id(const Command& command) {
  return std::visit(
      detail::overloaded{
          [](const DataUpdate& d) -> std::string_view {
            return text::iequals(d.table, "DeviceAuthorize") ? "device_authorize" : "data_update";
          },
          [](const DataDelete& d) -> std::string_view {
            return text::iequals(d.table, "DeviceAuthorize") ? "device_authorize" : "data_delete";
          },
          [](const DataCount&) -> std::string_view { return "data_count"; },
          [](const DataQuery&) -> std::string_view { return "data_query"; },
          [](const AccountCommand& a) -> std::string_view {
            return a.form == AccountForm::pullsdk ? "account_pullsdk" : "account_controller";
          },
          [](const TestHost&) -> std::string_view { return "test_host"; },
          [](const ControlDevice&) -> std::string_view { return "control_device"; },
          [](const Upgrade& u) -> std::string_view {
            switch (u.method) {
              case 1: return "upgrade_method1";
              case 2: return "upgrade_method2";
              case 3: return "upgrade_method3";
              default: return "";
            }
          },
          [](const SetOptions&) -> std::string_view { return "set_options"; },
          [](const GetOptions&) -> std::string_view { return "get_options"; },
          [](const SetAdscreenOptions&) -> std::string_view { return "set_adscreen_options"; },
          [](const EnrollInfo&) -> std::string_view { return "enroll_info"; },
          [](const EnrollBio&) -> std::string_view { return "enroll_bio"; },
          [](const UnknownCommand&) -> std::string_view { return ""; },
      },
      command.body);
}

std::optional<Command> example_command_for(std::string_view id) {
  constexpr CommandId n = 1;
  constexpr std::string_view md5 = "a5bf4dcd6020f408589224274aab132d";
  constexpr std::string_view url = "http://192.168.1.10:8088/firmware/emfw.cfg";
  Result<Command> built = make_error(Errc::unsupported, "no such catalogue id");
  if (id == "data_update") built = data_update(n, "user", Record{{"Pin", "1"}, {"Name", "Alice"}});
  else if (id == "data_delete") built = data_delete(n, "user", Record{{"Pin", "1"}});
  else if (id == "data_count") built = data_count(n, "user");
  else if (id == "data_query") built = data_query(n, "user");
  else if (id == "account_pullsdk") built = account_pullsdk(n, 0);
  else if (id == "account_controller") built = account_max_index(n, 0);
  else if (id == "test_host") built = test_host(n, "192.168.1.10", 8080);
  else if (id == "control_device") built = control_device(n, ControlDevice::open_door(1, 5));
  else if (id == "upgrade_method1") built = upgrade_method1(n, md5, url, 2312);
  else if (id == "upgrade_method2") built = upgrade_method2(n, md5, 2312, url);
  else if (id == "upgrade_method3") built = upgrade_method3(n, md5, 2312, url, true);
  else if (id == "set_options") built = set_options(n, Record{{"ComPwd", "1"}});
  else if (id == "get_options") built = get_options(n, {"FirmVer"});
  else if (id == "set_adscreen_options")
    built = set_adscreen_options(n, Record{{"InOut", "0"}, {"Area", "1"}, {"Type", "1"}, {"URL", "http://192.168.1.10/ad.jpg"}});
  else if (id == "enroll_info") built = enroll_info(n, "1", 3, 1);
  else if (id == "enroll_bio") built = enroll_bio(n, 9, 0, "1", 3, true, 1);
  else if (id == "device_authorize") built = device_authorize(n, "DDG7012017010600049", 1);
  if (!built) return std::nullopt;
  return std::move(built).value();
}

}  // namespace zkpush::protocol
