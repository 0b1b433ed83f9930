// Tolerant parsing of getrequest bodies: whatever the manual's examples and real firmware show
// (space after "C:<id>:", several spaces between verb words, "ReaderProperty*", CRLF, NUL, key case,
// ", " separators) is accepted; what cannot be given a meaning is an Error, never a guess.
#include <string>

#include "protocol/commands.hpp"
#include "protocol/commands_internal.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr std::size_t kMaxIdLength = 64;

std::string_view ltrim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

std::string quote(std::string_view s) {
  constexpr std::size_t kShown = 60;
  std::string out = "'";
  out.append(s.substr(0, kShown));
  if (s.size() > kShown) out += "...";
  out += "'";
  return out;
}

Error fail(Errc code, std::string what, const std::string& where) { return make_error(code, std::move(what), where); }

Record parse_fields(std::string_view text, std::span<const std::string_view> keys) {
  TabRecordOptions options;
  options.allow_prefix = false;
  options.known_keys = keys;
  Record r = parse_tab_record(text, options);
  // A piece of padding only (a stray NUL between two HTs) says nothing and would not survive
  // formatting, so it is not kept as a field.
  std::erase_if(r.fields, [](const Field& f) { return f.key.empty() && !f.has_value; });
  return r;
}

// Duplicate keys (any case) are refused where each key must mean one thing.
const Field* duplicate_key(const Record& record) {
  for (std::size_t i = 0; i < record.fields.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (text::iequals(record.fields[i].key, record.fields[j].key)) return &record.fields[i];
  return nullptr;
}

// "table rest": the table word ends at SP or HT; "ReaderProperty*" is the table and '*'.
struct TableAndRest {
  std::string table;
  std::string_view rest;
  bool glued_star = false;
};

Result<TableAndRest> split_table(std::string_view detail, std::string_view verb, const std::string& where) {
  std::size_t end = detail.find_first_of(" \t");
  std::string_view word = detail.substr(0, end);
  TableAndRest out;
  // NUL and CR count as padding here too, so that "\0*" is still the '*' of "everything".
  out.rest = end == std::string_view::npos ? std::string_view() : text::trim_line(detail.substr(end + 1));
  if (word.empty() || word == "*") return fail(Errc::incomplete, std::string(verb) + " needs a table name", where);
  if (word.find('=') != std::string_view::npos)
    return fail(Errc::incomplete, std::string(verb) + " has fields but no table name before them", where);
  if (word.size() > 1 && word.back() == '*') {
    if (!out.rest.empty()) return fail(Errc::malformed, "text after '*' in " + std::string(verb), where);
    word.remove_suffix(1);
    out.glued_star = true;
  }
  if (word.find('*') != std::string_view::npos)
    return fail(Errc::malformed, "'*' inside the table name of " + std::string(verb), where);
  out.table = std::string(word);
  return out;
}

// Every DATA UPDATE field name of every table: the keys that may follow a space in a nameless
// command's fields (spaces for tabs, as printed in the manual).
std::span<const std::string_view> all_update_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const TableSpec& t : all_tables())
      for (const FieldSpec& f : t.update_fields) out.push_back(f.name);
    return out;
  }();
  return keys;
}

Result<CommandBody> parse_update(std::string_view detail, const std::string& where) {
  // The manual's expansion-board examples lost their table word ("DATA UPDATE ExtBoardID=1 ..."):
  // keep the fields with an empty table; effective_table() names the table if the fields allow
  // exactly one (decision 26).
  std::string_view first_word = detail.substr(0, detail.find_first_of(" \t"));
  if (first_word.find('=') != std::string_view::npos && first_word.front() != '=') {
    DataUpdate d;
    d.records.push_back(parse_fields(text::trim_line(detail), all_update_keys()));
    return CommandBody(std::move(d));
  }
  auto split = split_table(detail, "DATA UPDATE", where);
  if (!split) return split.error();
  if (split->glued_star || split->rest.empty() || split->rest == "*")
    return fail(Errc::incomplete, "DATA UPDATE needs at least one field", where);
  auto keys = detail::known_keys(split->table);
  DataUpdate d;
  d.table = std::move(split->table);
  d.records.push_back(parse_fields(split->rest, keys));
  return CommandBody(std::move(d));
}

Result<CommandBody> parse_delete(std::string_view detail, const std::string& where) {
  auto split = split_table(detail, "DATA DELETE", where);
  if (!split) return split.error();
  DataDelete d;
  d.table = std::move(split->table);
  if (split->glued_star || split->rest == "*") {
    d.all = true;
  } else if (split->rest.empty()) {
    // Never read a missing condition as "everything": that is what '*' is for.
    return fail(Errc::incomplete, "DATA DELETE needs a condition or '*'", where);
  } else {
    d.conditions = parse_fields(split->rest, detail::known_keys(d.table));
  }
  return CommandBody(std::move(d));
}

Result<CommandBody> parse_count(std::string_view detail, const std::string& where) {
  auto split = split_table(detail, "DATA COUNT", where);
  if (!split) return split.error();
  DataCount d;
  d.table = std::move(split->table);
  if (split->glued_star || split->rest == "*") d.all = true;
  else if (!split->rest.empty()) d.conditions = parse_fields(split->rest, detail::known_keys(d.table));
  return CommandBody(std::move(d));
}

// "tablename=..,fielddesc=..,filter=.." in any order and case, spaces around ',' and '=' allowed.
// A comma piece that does not start with one of the three keys belongs to the previous value.
Result<CommandBody> parse_query(std::string_view detail, const std::string& where) {
  static constexpr std::string_view kKeys[] = {"tablename", "fielddesc", "filter"};
  std::string values[3];
  bool seen[3] = {false, false, false};
  int current = -1;
  for (std::string_view piece : text::split(detail, ',')) {
    std::string_view p = ltrim(piece);
    int key = -1;
    for (int k = 0; k < 3; ++k) {
      if (!text::istarts_with(p, kKeys[k])) continue;
      std::string_view after = ltrim(p.substr(kKeys[k].size()));
      if (!after.empty() && after.front() == '=') {
        key = k;
        p = ltrim(after.substr(1));
        break;
      }
    }
    if (key < 0) {
      if (current < 0) return fail(Errc::malformed, "DATA QUERY parameters must start with tablename=, fielddesc= or filter=", where);
      values[current] += ',';
      values[current].append(piece);
      continue;
    }
    if (seen[key]) return fail(Errc::malformed, "DATA QUERY repeats " + std::string(kKeys[key]), where);
    seen[key] = true;
    current = key;
    values[key] = std::string(p);
  }
  for (auto& v : values) v = std::string(text::trim(v));
  if (values[0].empty()) return fail(Errc::incomplete, "DATA QUERY needs tablename=", where);
  DataQuery q;
  q.table = values[0];
  q.fielddesc = values[1].empty() ? "*" : values[1];
  if (values[2].find('=') != std::string::npos) {
    std::vector<std::string_view> keys = detail::known_keys(q.table);
    keys.push_back("starttime");
    keys.push_back("endtime");
    q.filter = parse_fields(values[2], keys);
    q.filter_text.clear();
  } else {
    q.filter_text = values[2].empty() ? "*" : values[2];
  }
  return CommandBody(std::move(q));
}

Result<std::uint64_t> index_value(const Record& r, std::string_view key, const std::string& where) {
  auto v = r.get(key);
  auto n = v ? text::parse_uint(*v) : std::nullopt;
  if (!n) return fail(Errc::bad_value, "ACCOUNT " + std::string(key) + " must be a decimal number", where);
  return *n;
}

Result<CommandBody> parse_account(std::string_view detail, const std::string& where) {
  auto split = split_table(detail, "ACCOUNT", where);
  if (!split) return split.error();
  static constexpr std::string_view kKeys[] = {"ContentType", "MaxIndex", "StartIndex", "EndIndex", "StartTime", "EndTime"};
  Record params = parse_fields(split->rest, kKeys);
  for (const Field& f : params.fields) {
    bool known = false;
    for (auto k : kKeys) known = known || text::iequals(f.key, k);
    if (!known || !f.has_value)
      return fail(Errc::malformed, "ACCOUNT does not take " + quote(f.key), where);
  }
  // After the key check, so that the pairwise search only ever sees a handful of fields.
  if (const Field* dup = duplicate_key(params)) return fail(Errc::malformed, "ACCOUNT repeats " + dup->key, where);
  AccountCommand a;
  a.table = std::move(split->table);
  auto only = [&](std::initializer_list<std::string_view> keys) {
    if (params.size() != keys.size()) return false;
    for (auto k : keys)
      if (!params.has(k)) return false;
    return true;
  };
  if (only({"ContentType", "MaxIndex"})) {
    a.form = AccountForm::pullsdk;
    a.content_type = std::string(*params.get("ContentType"));
    auto n = index_value(params, "MaxIndex", where);
    if (!n) return n.error();
    a.max_index = *n;
  } else if (only({"MaxIndex"})) {
    a.form = AccountForm::max_index;
    auto n = index_value(params, "MaxIndex", where);
    if (!n) return n.error();
    a.max_index = *n;
  } else if (only({"StartIndex", "EndIndex"})) {
    a.form = AccountForm::index_range;
    auto s = index_value(params, "StartIndex", where);
    if (!s) return s.error();
    auto e = index_value(params, "EndIndex", where);
    if (!e) return e.error();
    a.start_index = *s;
    a.end_index = *e;
  } else if (only({"StartTime", "EndTime"})) {
    a.form = AccountForm::time_range;
    a.start_time = std::string(text::trim(*params.get("StartTime")));
    a.end_time = std::string(text::trim(*params.get("EndTime")));
  } else {
    return fail(Errc::malformed,
                "ACCOUNT takes ContentType+MaxIndex, MaxIndex, StartIndex+EndIndex or StartTime+EndTime", where);
  }
  return CommandBody(std::move(a));
}

Result<CommandBody> parse_test_host(std::string_view detail, const std::string& where) {
  Record r = parse_fields(detail, {});
  if (r.size() != 1 || !text::iequals(r.fields[0].key, "Address") || !r.fields[0].has_value)
    return fail(Errc::malformed, "Test Host takes exactly Address=<ip>:<port>", where);
  return CommandBody(TestHost{std::string(text::trim(r.fields[0].value))});
}

Result<CommandBody> parse_upgrade(std::string_view detail, const std::string& where) {
  Record r = parse_comma_list(detail);
  int url_at = -1, size_at = -1;
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    const Field& f = r.fields[i];
    static constexpr std::string_view kKeys[] = {"checksum", "url", "size", "type", "supportsubcontracting"};
    bool known = false;
    for (auto k : kKeys) known = known || text::iequals(f.key, k);
    if (!known || !f.has_value) return fail(Errc::malformed, "UPGRADE does not take " + quote(f.key), where);
    if (text::iequals(f.key, "url")) url_at = static_cast<int>(i);
    if (text::iequals(f.key, "size")) size_at = static_cast<int>(i);
  }
  if (const Field* dup = duplicate_key(r)) return fail(Errc::malformed, "UPGRADE repeats " + dup->key, where);
  if (!r.has("checksum") || url_at < 0 || size_at < 0)
    return fail(Errc::incomplete, "UPGRADE needs checksum=, url= and size=", where);
  Upgrade u;
  u.checksum = std::string(*r.get("checksum"));
  u.url = std::string(*r.get("url"));
  auto size = text::parse_uint(*r.get("size"));
  if (!size) return fail(Errc::bad_value, "UPGRADE size must be a decimal number", where);
  u.size = *size;
  if (auto type = r.get("type")) {
    if (r.has("supportsubcontracting"))
      return fail(Errc::malformed, "UPGRADE mixes type= (method 2) and supportsubcontracting= (method 3)", where);
    u.method = 2;
    u.type = std::string(*type);
  } else if (auto sub = r.get("supportsubcontracting")) {
    auto n = text::parse_int(*sub);
    if (!n || *n < 0 || *n > 9) return fail(Errc::bad_value, "UPGRADE supportsubcontracting must be 0 or 1", where);
    u.method = 3;
    u.support_subcontracting = static_cast<int>(*n);
  } else {
    // Methods 1 and 3 differ only in the order of url and size (decision 21).
    u.method = url_at < size_at ? 1 : 3;
  }
  return CommandBody(std::move(u));
}

Result<CommandBody> parse_option_list(Verb verb, std::string_view detail, const std::string& where) {
  Record r = parse_comma_list(detail);
  if (r.empty()) return fail(Errc::incomplete, std::string(verb_name(verb)) + " needs at least one key=value", where);
  if (verb == Verb::set_options) return CommandBody(SetOptions{std::move(r)});
  return CommandBody(SetAdscreenOptions{std::move(r)});
}

Result<CommandBody> parse_get_options(std::string_view detail, const std::string& where) {
  GetOptions g;
  for (std::string_view piece : text::split(detail, ',')) {
    std::string_view key = text::trim_line(piece);
    if (!key.empty()) g.keys.emplace_back(key);
  }
  if (g.keys.empty()) return fail(Errc::incomplete, "GET OPTIONS needs at least one key", where);
  return CommandBody(std::move(g));
}

Result<CommandBody> parse_enroll(Verb verb, std::string_view detail, const std::string& where) {
  static constexpr std::string_view kKeys[] = {"TYPE", "NO", "PIN", "RETRY", "OVERWRITE", "MODE"};
  Record r = parse_fields(detail, kKeys);
  if (r.empty()) return fail(Errc::incomplete, std::string(verb_name(verb)) + " needs its parameters", where);
  if (verb == Verb::enroll_info) return CommandBody(EnrollInfo{std::move(r)});
  return CommandBody(EnrollBio{std::move(r)});
}

Result<CommandBody> parse_body(Verb verb, std::string_view detail, const std::string& where) {
  switch (verb) {
    case Verb::data_update: return parse_update(detail, where);
    case Verb::data_delete: return parse_delete(detail, where);
    case Verb::data_count: return parse_count(detail, where);
    case Verb::data_query: return parse_query(detail, where);
    case Verb::account: return parse_account(detail, where);
    case Verb::test_host: return parse_test_host(detail, where);
    case Verb::control_device: {
      auto c = parse_control_device(detail);
      if (!c) return fail(c.error().code, c.error().what, where);
      return CommandBody(*c);
    }
    case Verb::upgrade: return parse_upgrade(detail, where);
    case Verb::set_options:
    case Verb::set_adscreen_options: return parse_option_list(verb, detail, where);
    case Verb::get_options: return parse_get_options(detail, where);
    case Verb::enroll_info:
    case Verb::enroll_bio: return parse_enroll(verb, detail, where);
    case Verb::unknown: break;
  }
  return fail(Errc::unsupported, "unknown verb", where);
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    // ':' ends the id; '=', ',' and '&' would break the CmdFormat=1 prefix and the result line.
    if (u <= ' ' || u == 0x7F || c == ':' || c == '=' || c == ',' || c == '&') return false;
  }
  return true;
}

// "C:<id>:<verb> <detail>".
Result<Command> parse_c_line(std::string_view line, const std::string& where) {
  if (!text::istarts_with(line, "C:")) return fail(Errc::malformed, "a command line starts with C:", where);
  std::string_view after = line.substr(2);
  std::size_t colon = after.find(':');
  if (colon == std::string_view::npos)
    return fail(Errc::malformed, "missing ':' after the command id in " + quote(line), where);
  std::string_view id = text::trim(after.substr(0, colon));
  if (!valid_id(id)) return fail(Errc::malformed, "bad command id " + quote(id), where);
  std::string_view rest = ltrim(after.substr(colon + 1));
  if (rest.empty()) return fail(Errc::incomplete, "nothing after C:" + std::string(id) + ":", where);

  Command c;
  c.id = std::string(id);
  const std::string at = where + ", command " + c.id;
  for (const auto& v : detail::verb_spellings()) {
    std::size_t used = detail::match_verb(rest, v.name);
    if (used == std::string_view::npos) continue;
    auto body = parse_body(v.verb, ltrim(rest.substr(used)), at);
    if (!body) return body.error();
    c.body = std::move(body).value();
    return c;
  }
  std::size_t sep = rest.find_first_of(" \t");
  UnknownCommand u;
  u.verb = std::string(rest.substr(0, sep));
  if (sep != std::string_view::npos) u.detail = std::string(rest.substr(sep + 1));
  c.body = std::move(u);
  return c;
}

// "DataType=1, SN=.., [Priority=.., ]CmdID=.., CmdDesc=C:<id>:..." (Appendix 14).
Result<Command> parse_enveloped(std::string_view line, const std::string& where) {
  std::size_t desc = std::string_view::npos;
  for (std::size_t i = 0; i + 8 <= line.size(); ++i)
    if (text::iequals(line.substr(i, 8), "CmdDesc=")) {
      desc = i;
      break;
    }
  if (desc == std::string_view::npos) return fail(Errc::incomplete, "CmdFormat=1 line without CmdDesc=", where);
  Record prefix = parse_comma_list(line.substr(0, desc));
  Envelope env;
  std::optional<std::string_view> cmd_id;
  for (const Field& f : prefix.fields) {
    if (text::iequals(f.key, "DataType") || text::iequals(f.key, "Priority")) {
      auto n = text::parse_int(f.value);
      if (!n) return fail(Errc::bad_value, f.key + " must be a number", where);
      if (text::iequals(f.key, "DataType")) env.data_type = *n;
      else env.priority = *n;
    } else if (text::iequals(f.key, "SN")) {
      env.sn = f.value;
    } else if (text::iequals(f.key, "CmdID")) {
      cmd_id = f.value;
    } else {
      return fail(Errc::malformed, "unknown CmdFormat=1 key " + quote(f.key), where);
    }
  }
  auto c = parse_c_line(ltrim(line.substr(desc + 8)), where);
  if (!c) return c;
  if (cmd_id && text::trim(*cmd_id) != c->id)
    return fail(Errc::malformed, "CmdID=" + std::string(*cmd_id) + " differs from the id of the C: line", where);
  c->envelope = std::move(env);
  return c;
}

bool starts_command(std::string_view line) {
  return text::istarts_with(line, "C:") || text::istarts_with(line, "DataType=");
}

}  // namespace

namespace detail {

std::vector<std::string_view> known_keys(std::string_view table) {
  std::vector<std::string_view> keys;
  if (const TableSpec* spec = find_table(table)) {
    for (const auto& f : spec->update_fields) keys.push_back(f.name);
    for (const auto& f : spec->upload_fields) keys.push_back(f.name);
  }
  return keys;
}

}  // namespace detail

Result<std::vector<Command>> parse_commands(std::string_view body) {
  if (body.size() > max_commands_body)
    return make_error(Errc::too_large, "getrequest body of " + std::to_string(body.size()) + " bytes", "body");
  std::vector<Command> out;
  auto lines = text::split_lines(body, false);
  // The "nothing queued" answer.
  std::size_t non_blank = 0;
  for (auto l : lines) non_blank += text::trim_line(l).empty() ? 0 : 1;
  if (non_blank == 1) {
    for (auto l : lines)
      if (text::iequals(text::trim_line(l), "OK")) return out;
  }
  std::vector<std::string_view> update_keys;  // of the DATA UPDATE that continuation lines extend
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = text::trim_line(lines[i]);
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(i + 1);
    if (starts_command(line)) {
      if (out.size() >= max_commands_per_body)
        return make_error(Errc::too_large, "more than " + std::to_string(max_commands_per_body) + " commands", where);
      auto c = text::istarts_with(line, "C:") ? parse_c_line(line, where) : parse_enveloped(line, where);
      if (!c) return c.error();
      out.push_back(std::move(c).value());
      if (const auto* d = std::get_if<DataUpdate>(&out.back().body)) update_keys = detail::known_keys(d->table);
      continue;
    }
    // Only DATA UPDATE has continuation records (decision 15).
    DataUpdate* update = out.empty() ? nullptr : std::get_if<DataUpdate>(&out.back().body);
    if (!update)
      return make_error(Errc::malformed,
                        "line is neither a C: command nor a record continuing a DATA UPDATE: " + quote(line), where);
    update->records.push_back(parse_fields(line, update_keys));
  }
  return out;
}

Result<Command> parse_command(std::string_view text_in) {
  auto all = parse_commands(text_in);
  if (!all) return all.error();
  if (all->size() != 1)
    return make_error(Errc::malformed, "expected one command, found " + std::to_string(all->size()), "body");
  return std::move(all->front());
}

}  // namespace zkpush::protocol
