#include "protocol/command_results.hpp"

#include <iterator>
#include <string>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr std::string_view kKnownKeys[] = {"ID", "Return", "CMD", "SN"};

bool is_known_key(std::string_view key) {
  for (auto k : kKnownKeys)
    if (text::iequals(k, key)) return true;
  return false;
}

constexpr std::int64_t kPending = -5000;
constexpr std::int64_t kRepeated = -7;

}  // namespace

std::vector<Field> CommandResult::extra_fields() const {
  std::vector<Field> out;
  for (const Field& f : fields.fields)
    if (!is_known_key(f.key)) out.push_back(f);
  return out;
}

CommandResult make_command_result(std::string_view id, std::int64_t return_code, std::string_view cmd,
                                  std::optional<std::string_view> sn, std::vector<Field> extra) {
  CommandResult r;
  r.id = std::string(id);
  r.return_code = return_code;
  r.return_text = std::to_string(return_code);
  r.cmd = std::string(cmd);
  r.fields.add("ID", r.id).add("Return", r.return_text).add("CMD", r.cmd);
  for (Field& f : extra) r.fields.fields.push_back(std::move(f));
  if (sn) {
    r.sn = std::string(*sn);
    r.fields.add("SN", *sn);
  }
  return r;
}

CommandResult make_command_result(const Command& command, std::int64_t return_code, std::optional<std::string_view> sn) {
  std::string_view cmd = command.verb() == Verb::unknown ? std::string_view(std::get<UnknownCommand>(command.body).verb)
                                                         : verb_name(command.verb());
  return make_command_result(command.id, return_code, cmd, sn);
}

Result<CommandResult> parse_command_result(std::string_view line) {
  line = text::trim_line(line);
  if (line.empty()) return make_error(Errc::incomplete, "empty result line", "result");
  CommandResult r;
  r.fields = parse_amp_list(line);
  const Field* id = r.fields.find("ID");
  if (!id || !id->has_value || text::trim(id->value).empty())
    return make_error(Errc::incomplete, "result without ID=", "result");
  r.id = std::string(text::trim(id->value));
  const Field* ret = r.fields.find("Return");
  if (!ret || !ret->has_value) return make_error(Errc::incomplete, "result without Return=", "result " + r.id);
  r.return_text = ret->value;
  auto code = text::parse_int(ret->value);
  if (!code)
    return make_error(Errc::bad_value, "Return is not an integer: '" + ret->value.substr(0, 40) + "'", "result " + r.id);
  r.return_code = *code;
  if (const Field* cmd = r.fields.find("CMD")) r.cmd = cmd->value;
  if (const Field* sn = r.fields.find("SN"); sn && sn->has_value) r.sn = sn->value;
  return r;
}

Result<std::vector<CommandResult>> parse_command_results(std::string_view body) {
  if (body.size() > max_results_body)
    return make_error(Errc::too_large, "devicecmd body of " + std::to_string(body.size()) + " bytes", "body");
  std::vector<CommandResult> out;
  auto lines = text::split_lines(body, false);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (text::trim_line(lines[i]).empty()) continue;
    auto r = parse_command_result(lines[i]);
    if (!r) {
      Error e = std::move(r).error();
      e.where = "line " + std::to_string(i + 1) + ", " + e.where;
      return e;
    }
    out.push_back(std::move(r).value());
  }
  return out;
}

std::string format_command_result(const CommandResult& result) {
  std::string out = "ID=" + result.id + "&Return=" + std::to_string(result.return_code) + "&CMD=" + result.cmd;
  for (const Field& f : result.extra_fields()) {
    out += '&';
    out += f.key;
    if (f.has_value) {
      out += '=';
      out += f.value;
    }
  }
  if (result.sn) out += "&SN=" + *result.sn;
  return out;
}

std::string format_command_results(std::span<const CommandResult> results) {
  std::string out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i) out += '\n';
    out += format_command_result(results[i]);
  }
  return out;
}

const char* return_kind_name(ReturnKind kind) noexcept {
  switch (kind) {
    case ReturnKind::status_ok: return "ok";
    case ReturnKind::status_failed: return "failed";
    case ReturnKind::count: return "count";
    case ReturnKind::pending: return "pending";
    case ReturnKind::repeated: return "repeated";
  }
  return "failed";
}

ReturnMeaning interpret_return(Verb verb, std::int64_t code) noexcept {
  ReturnMeaning m;
  m.value = code;
  m.name = return_code_name(code);
  // The manual prints the first SET ADSCREEN_OPTIONS result as "Return=5000" while its text says
  // -5000 (decision 14); for that verb both mean "waiting for the screen device".
  if (code == kPending || (verb == Verb::set_adscreen_options && code == -kPending)) {
    m.kind = ReturnKind::pending;
    m.name = return_code_name(kPending);
    return m;
  }
  if (code == kRepeated) {
    m.kind = ReturnKind::repeated;
    return m;
  }
  const bool counts = verb == Verb::data_query || verb == Verb::data_count || verb == Verb::account;
  if (code >= 0) m.kind = counts ? ReturnKind::count : ReturnKind::status_ok;
  else m.kind = ReturnKind::status_failed;
  return m;
}

std::optional<Verb> verb_of_result_cmd(std::string_view cmd) noexcept { return verb_from_name(cmd); }

const Command* find_command_for(const CommandResult& result, std::span<const Command> commands) noexcept {
  for (const Command& c : commands)
    if (c.id == result.id) return &c;
  bool digits = !result.id.empty();
  for (char ch : result.id) digits = digits && ch >= '0' && ch <= '9';
  if (!digits) return nullptr;
  auto want = text::parse_uint(result.id);
  if (!want) return nullptr;
  for (const Command& c : commands)
    if (c.numeric_id() == want) return &c;
  return nullptr;
}

}  // namespace zkpush::protocol
