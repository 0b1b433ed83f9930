#include "service/sync.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>
#include <span>

#include "protocol/codecs_bitmaps.hpp"
#include "protocol/codecs_doors.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_builders.hpp"
#include "protocol/command_results.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/text.hpp"
#include "service/doors.hpp"

namespace zkpush::service {

namespace p = protocol;
using storage::SyncItem;
using storage::SyncKey;
using storage::SyncState;
using Json = nlohmann::ordered_json;

namespace {

constexpr std::array<const char*, 10> kWireDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Hol1", "Hol2", "Hol3"};

// ---- canonical contents, parsed back -------------------------------------------------------------

// A credential in a person's content: what identifies it on a panel, and a digest of its content.
struct CredRef {
  std::int64_t id = 0;
  int bio_type = 1, no = 0, index = 0;
  std::string format, version;
  bool duress = false;
  std::string digest;
  bool operator==(const CredRef&) const = default;
};

struct PersonOnPanel {
  std::string name, password, from, until;
  int group = 1, privilege = 0;
  std::vector<std::pair<std::string, bool>> cards;        // number, lost
  std::vector<std::pair<std::int64_t, std::vector<int>>> auth;  // time rule, doors
  std::vector<CredRef> creds;
};

// FNV-1a, 64 bits: a change of a template or photo changes its person's content.
std::string digest_of(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 0xf];
  return out + ":" + std::to_string(text.size());
}

storage::Credential as_credential(const CredRef& r) {
  storage::Credential c;
  c.id = r.id;
  c.bio_type = r.bio_type;
  c.no = r.no;
  c.index = r.index;
  c.format = r.format;
  c.version = r.version;
  c.duress = r.duress;
  return c;
}

PersonOnPanel parse_person(const std::string& text) {
  auto j = Json::parse(text);
  PersonOnPanel p;
  p.name = j.at("name").get<std::string>();
  p.password = j.at("password").get<std::string>();
  p.group = j.at("group").get<int>();
  p.privilege = j.at("privilege").get<int>();
  p.from = j.at("from").get<std::string>();
  p.until = j.at("until").get<std::string>();
  for (const auto& c : j.at("cards")) p.cards.emplace_back(c.at(0).get<std::string>(), c.at(1).get<bool>());
  for (const auto& a : j.at("auth")) p.auth.emplace_back(a.at(0).get<std::int64_t>(), a.at(1).get<std::vector<int>>());
  if (auto creds = j.find("creds"); creds != j.end()) {  // absent in contents written before credentials were synced
    for (const auto& c : *creds) {
      CredRef r;
      r.id = c.at(0).get<std::int64_t>();
      r.bio_type = c.at(1).get<int>();
      r.no = c.at(2).get<int>();
      r.index = c.at(3).get<int>();
      r.format = c.at(4).get<std::string>();
      r.version = c.at(5).get<std::string>();
      r.duress = c.at(6).get<bool>();
      r.digest = c.at(7).get<std::string>();
      p.creds.push_back(std::move(r));
    }
  }
  return p;
}

// "YYYY-MM-DD" as the panel takes it: Appendix 5 seconds (DateFmtFunOn=1) or YYYYMMDD; "" is 0.
std::string panel_date(const std::string& date, bool end_of_day, bool zktime) {
  if (date.size() != 10) return "0";
  const auto y = p::text::parse_int(date.substr(0, 4));
  const auto m = p::text::parse_int(date.substr(5, 2));
  const auto d = p::text::parse_int(date.substr(8, 2));
  if (!y || !m || !d) return "0";
  if (!zktime) return date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2);
  p::CivilTime t{static_cast<int>(*y), static_cast<int>(*m), static_cast<int>(*d), end_of_day ? 23 : 0,
                 end_of_day ? 59 : 0, end_of_day ? 59 : 0};
  auto encoded = p::encode_zktime(t);
  return encoded ? std::to_string(*encoded) : "0";
}

bool uses_mulcard(const PersonOnPanel& p, const PanelCaps& caps) { return caps.multi_card && !p.cards.empty(); }

std::string primary_card(const PersonOnPanel& p) {
  for (const auto& [number, lost] : p.cards)
    if (!lost) return number;
  return "";
}

p::Record user_record(const std::string& pin, const PersonOnPanel& p, const PanelCaps& caps) {
  p::Record r;
  r.add("Pin", pin);
  r.add("CardNo", caps.multi_card ? "" : primary_card(p));
  r.add("Password", p.password);
  r.add("Group", std::to_string(p.group));
  r.add("StartTime", panel_date(p.from, false, caps.date_zktime));
  r.add("EndTime", panel_date(p.until, true, caps.date_zktime));
  r.add("Name", p.name);
  r.add("Privilege", std::to_string(p.privilege));
  return r;
}

bool same_user_row(const PersonOnPanel& a, const PersonOnPanel& b, const PanelCaps& caps) {
  return a.name == b.name && a.password == b.password && a.group == b.group && a.privilege == b.privilege &&
         a.from == b.from && a.until == b.until && (caps.multi_card || primary_card(a) == primary_card(b));
}

std::vector<p::Record> card_records(const std::string& pin, const PersonOnPanel& p) {
  std::vector<p::Record> out;
  for (std::size_t i = 0; i < p.cards.size(); ++i) {
    p::Record r;
    r.add("Pin", pin);
    r.add("CardNo", p.cards[i].first);
    r.add("LossCardFlag", p.cards[i].second ? "1" : "0");
    r.add("CardType", i == 0 ? "0" : "1");
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<p::Record> auth_records(const std::string& pin, const PersonOnPanel& p, const PanelCaps& caps) {
  std::vector<p::Record> out;
  for (const auto& entry : p.auth) {  // not a structured binding: clang 14 cannot capture one
    const std::int64_t rule = entry.first;
    const std::vector<int>& doors = entry.second;
    auto add = [&](std::span<const int> ds) {
      auto value = p::format_authorize_doors(ds, caps.one_door);
      if (!value) return;
      p::Record r;
      r.add("Pin", pin);
      r.add("AuthorizeTimezoneId", std::to_string(rule));
      r.add("AuthorizeDoorId", *value);
      r.add("DevID", "1");  // part of the table's key; 1 = the panel itself, as in the manual's example
      out.push_back(std::move(r));
    };
    if (caps.one_door) {
      for (int d : doors) add(std::span<const int>(&d, 1));
    } else {
      add(doors);
    }
  }
  return out;
}

p::Record rule_record(const std::string& id, const std::string& content) {
  auto j = Json::parse(content);
  p::Record r;
  r.add("TimezoneId", id);
  for (std::size_t d = 0; d < kWireDays.size(); ++d) {
    const auto& periods = j.at(storage::kRuleDays[d]);
    for (std::size_t n = 0; n < 3; ++n) {
      std::uint32_t value = 0;
      if (n < periods.size()) {
        const int start = periods[n].at(0).get<int>(), end = periods[n].at(1).get<int>();
        auto v = p::encode_time_segment(p::TimeSegment{start / 60, start % 60, end / 60, end % 60});
        if (v) value = *v;
      }
      r.add(std::string(kWireDays[d]) + "Time" + std::to_string(n + 1), std::to_string(value));
    }
  }
  return r;
}

std::map<std::string, std::pair<int, int>> parse_holidays(const std::string& text) {
  std::map<std::string, std::pair<int, int>> out;
  for (const auto& row : Json::parse(text)) out.emplace(row.at(0).get<std::string>(), std::pair{row.at(1).get<int>(), row.at(2).get<int>()});
  return out;
}

// ---- packing ------------------------------------------------------------------------------------------

struct Rec {
  p::Record record;
  SyncKey item;
  std::int64_t batch = 0;
};

std::size_t text_size(const p::Record& r) {
  std::size_t n = 0;
  for (const auto& f : r.fields) n += f.key.size() + f.value.size() + 2;
  return n;
}

// Builds DATA UPDATE commands of `table` from the records, packed within the limits; records the
// builders refuse are reported in `invalid` with the reason.
void pack_updates(const std::string& table, std::vector<Rec> recs, const PanelCaps& caps, const SyncOptions& options,
                  std::vector<PlannedCommand>& out, std::vector<std::pair<SyncKey, std::string>>& invalid) {
  if (recs.empty()) return;
  // Records of items that failed in a larger command go last, in smaller commands.
  std::stable_sort(recs.begin(), recs.end(), [](const Rec& a, const Rec& b) { return a.batch < b.batch; });
  std::size_t max_bytes = options.bytes_per_command;
  if (caps.max_package != 0) max_bytes = std::min(max_bytes, caps.max_package);
  // One command of the chunk's records; when the builders refuse it, the records at fault are found
  // one by one, reported, and the others go together.
  auto build = [&](const std::vector<Rec>& rs) {
    std::vector<p::Record> records;
    records.reserve(rs.size());
    for (const auto& r : rs) records.push_back(r.record);
    return p::data_update(0, table, std::move(records));
  };
  auto emit = [&](std::vector<Rec>& chunk) {
    if (chunk.empty()) return;
    auto built = build(chunk);
    if (!built) {
      std::vector<Rec> good;
      for (auto& r : chunk) {
        auto alone = p::data_update(0, table, r.record);
        if (alone) good.push_back(std::move(r));
        else invalid.emplace_back(r.item, alone.error().to_string());
      }
      chunk = std::move(good);
      if (chunk.empty()) return;
      built = build(chunk);
      if (!built) {  // fine alone, refused together: reported rather than dropped
        for (const auto& r : chunk) invalid.emplace_back(r.item, built.error().to_string());
        chunk.clear();
        return;
      }
    }
    PlannedCommand c{std::move(*built), {}};
    for (const auto& r : chunk)
      if (std::find(c.items.begin(), c.items.end(), r.item) == c.items.end()) c.items.push_back(r.item);
    out.push_back(std::move(c));
    chunk.clear();
  };
  std::vector<Rec> chunk;
  std::size_t bytes = 0;
  std::size_t limit = options.records_per_command;
  for (auto& r : recs) {
    const std::size_t size = text_size(r.record) + 1;
    const std::size_t own = r.batch > 0 ? std::min<std::size_t>(options.records_per_command, static_cast<std::size_t>(r.batch))
                                        : options.records_per_command;
    if (!chunk.empty() && (chunk.size() >= std::min(limit, own) || bytes + size > max_bytes ||
                           (chunk.back().batch == 0) != (r.batch == 0))) {
      emit(chunk);
      bytes = 0;
    }
    limit = chunk.empty() ? own : std::min(limit, own);
    bytes += size;
    chunk.push_back(std::move(r));
  }
  emit(chunk);
}

void pack_deletes(const std::string& table, const std::vector<std::pair<p::Record, SyncKey>>& deletes,
                  std::vector<PlannedCommand>& out, std::vector<std::pair<SyncKey, std::string>>& invalid) {
  // One condition per DATA DELETE: continuation records are defined for DATA UPDATE only.
  for (const auto& [condition, item] : deletes) {
    auto built = p::data_delete(0, table, condition);
    if (!built) {
      invalid.emplace_back(item, built.error().to_string());
      continue;
    }
    out.push_back(PlannedCommand{std::move(*built), {item}});
  }
}

std::int64_t backoff(const SyncOptions& options, std::int64_t attempts) {
  std::int64_t wait = options.retry_base;
  for (std::int64_t i = 1; i < attempts && wait < options.retry_max; ++i) wait *= 2;
  return std::min(wait, options.retry_max);
}

}  // namespace

PanelCaps panel_caps(const p::Record& options) {
  PanelCaps caps;
  const std::string list(p::option_value(options, "AccSupportFunList").value_or(""));
  caps.multi_card = p::function_supported(list, p::kFunMultiCardUser);
  caps.one_door = p::function_supported(list, p::kFunOneDoorAuthorize);
  caps.date_zktime = p::text::trim(p::option_value(options, "DateFmtFunOn").value_or("")) == "1";
  if (auto size = p::text::parse_int(p::text::trim(p::option_value(options, "MaxPackageSize").value_or(""))))
    if (*size > 0) caps.max_package = static_cast<std::size_t>(*size);
  auto multibio = [&](std::string_view key) {
    auto parsed = p::parse_multibio_list(p::option_value(options, key).value_or(""));
    return parsed ? *parsed : std::vector<std::int64_t>{};
  };
  const auto data = multibio("MultiBioDataSupport"), photo = multibio("MultiBioPhotoSupport"),
             version = multibio("MultiBioVersion");
  for (std::size_t t = 0; t < caps.bio_data.size(); ++t) {
    caps.bio_data[t] = p::multibio_at(data, t) != 0;
    caps.bio_photo[t] = p::multibio_at(photo, t) != 0;
    caps.bio_version[t] = p::multibio_at(version, t);
  }
  auto on = [&](std::string_view key) { return p::text::trim(p::option_value(options, key).value_or("")) == "1"; };
  caps.fingerprint_v10 = on("FingerFunOn");
  caps.user_photo = on("PhotoFunOn");
  caps.string_pin = on("StringPinFunOn");
  return caps;
}

std::string credential_table(const storage::Credential& c, const PanelCaps& caps) {
  if (c.bio_type < 0 || c.bio_type >= static_cast<int>(caps.bio_data.size())) return "";
  const auto t = static_cast<std::size_t>(c.bio_type);
  if (c.format == "userpic") return caps.user_photo ? "userpic" : "";
  if (c.format == "biophoto") return caps.bio_photo[t] ? "biophoto" : "";
  // A template: the panel's algorithm must read it (the major version, where both say one).
  const auto major = p::text::parse_int(c.version.substr(0, c.version.find('.')));
  if (caps.bio_data[t] && (caps.bio_version[t] == 0 || !major || *major == caps.bio_version[t])) return "biodata";
  if (c.bio_type == 1 && caps.fingerprint_v10 && (!major || *major == 10)) return "templatev10";
  return "";
}

namespace {

// The doors of the panel the person may open, by time rule; nullopt when none of its levels has a
// door there. The person's content on the panel is a function of this and of the person alone.
using DoorsByRule = std::map<std::int64_t, std::set<int>>;
std::optional<DoorsByRule> doors_on_panel(const storage::Person& person,
                                          const std::vector<storage::AccessLevel>& levels_on_panel,
                                          const std::string& sn) {
  DoorsByRule doors_by_rule;
  bool on_panel = false;
  for (const auto& level : levels_on_panel) {
    if (!std::binary_search(person.levels.begin(), person.levels.end(), level.id)) continue;
    for (const auto& d : level.doors) {
      if (d.sn != sn) continue;
      on_panel = true;
      if (!person.disabled) doors_by_rule[level.time_rule_id].insert(d.door);
    }
  }
  if (!on_panel) return std::nullopt;
  return doors_by_rule;
}

std::string content_with(const storage::Person& person, const DoorsByRule& doors_by_rule);

}  // namespace

std::optional<std::string> person_content(const storage::Person& person,
                                          const std::vector<storage::AccessLevel>& levels_on_panel,
                                          const std::string& sn) {
  auto doors = doors_on_panel(person, levels_on_panel, sn);
  if (!doors) return std::nullopt;
  return content_with(person, *doors);
}

namespace {

std::string content_with(const storage::Person& person, const DoorsByRule& doors_by_rule) {
  Json j;
  j["name"] = person.name;
  j["password"] = person.password;
  j["group"] = person.group;
  j["privilege"] = person.privilege;
  j["from"] = person.valid_from;
  j["until"] = person.valid_until;
  Json cards = Json::array();
  for (const auto& c : person.cards) cards.push_back(Json::array({c.number, c.lost}));
  j["cards"] = std::move(cards);
  Json auth = Json::array();
  for (const auto& [rule, doors] : doors_by_rule) auth.push_back(Json::array({rule, std::vector<int>(doors.begin(), doors.end())}));
  j["auth"] = std::move(auth);
  if (!person.credentials.empty()) {
    Json creds = Json::array();
    for (const auto& c : person.credentials)
      creds.push_back(Json::array({c.id, c.bio_type, c.no, c.index, c.format, c.version, c.duress, digest_of(c.content)}));
    j["creds"] = std::move(creds);
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::vector<std::string> holiday_dates(const storage::Holiday& h) {
  std::vector<std::string> out;
  auto parse = [](const std::string& d) -> std::optional<std::int64_t> {
    if (d.size() != 10) return std::nullopt;
    const auto y = p::text::parse_int(d.substr(0, 4)), m = p::text::parse_int(d.substr(5, 2)), day = p::text::parse_int(d.substr(8, 2));
    if (!y || !m || !day || !p::is_valid_date(static_cast<int>(*y), static_cast<int>(*m), static_cast<int>(*day))) return std::nullopt;
    p::CivilTime t{static_cast<int>(*y), static_cast<int>(*m), static_cast<int>(*day), 12, 0, 0};
    auto unix = p::unix_from_civil(t);
    return unix ? std::optional(*unix) : std::nullopt;
  };
  const auto from = parse(h.start), to = parse(h.end);
  if (!from || !to) return out;
  for (std::int64_t t = *from; t <= *to && out.size() <= 366; t += 86400)
    if (auto civil = p::civil_from_unix(t)) out.push_back(p::format_date8(*civil));
  return out;
}

std::string holidays_content(const std::vector<storage::Holiday>& holidays) {
  std::map<std::string, std::pair<int, int>> rows;  // date -> type, Loop (1 yearly, 2 that date only)
  for (const auto& h : holidays)
    for (const auto& date : holiday_dates(h)) rows.emplace(date, std::pair{h.type, h.yearly ? 1 : 2});
  Json j = Json::array();
  for (const auto& [date, row] : rows) j.push_back(Json::array({date, row.first, row.second}));
  return j.dump();
}

std::string rule_content(const storage::TimeRule& rule) {
  Json j;
  for (std::size_t d = 0; d < storage::kRuleDays.size(); ++d) {
    Json periods = Json::array();
    for (const auto& period : rule.days[d]) periods.push_back(Json::array({period.start, period.end}));
    j[storage::kRuleDays[d]] = std::move(periods);
  }
  return j.dump();
}

namespace {

// Where a person's credentials go on a panel, keyed by (table, type, instance, index): templatev10
// one per finger, biodata per type, instance and index, biophoto one per type, userpic one.
using Placement = std::map<std::tuple<std::string, int, int, int>, const CredRef*>;

Placement place(const std::optional<PersonOnPanel>& who, const PanelCaps& caps) {
  Placement out;
  if (!who) return out;
  std::set<int> templates;  // types sent as biodata: no photo of them as well (3.1)
  for (const auto& c : who->creds)
    if (credential_table(as_credential(c), caps) == "biodata") templates.insert(c.bio_type);
  for (const auto& c : who->creds) {
    const auto table = credential_table(as_credential(c), caps);
    if (table.empty() || (table == "biophoto" && templates.count(c.bio_type))) continue;
    if (table == "templatev10") out.emplace(std::tuple{table, 1, c.no, 0}, &c);
    else if (table == "biodata") out.emplace(std::tuple{table, c.bio_type, c.no, c.index}, &c);
    else if (table == "biophoto") out.emplace(std::tuple{table, c.bio_type, 0, 0}, &c);
    else out.emplace(std::tuple{table, 0, 0, 0}, &c);
  }
  return out;
}

p::Record credential_record(const std::string& table, const std::string& pin, const CredRef& c,
                            const std::string& content) {
  p::Record r;
  if (table == "templatev10") {
    r.add("Pin", pin);
    r.add("FingerID", std::to_string(c.no));
    r.add("Valid", c.duress ? "3" : "1");
    r.add("Template", content);
  } else if (table == "biodata") {
    const auto dot = c.version.find('.');
    r.add("Pin", pin);
    r.add("No", std::to_string(c.no));
    r.add("Index", std::to_string(c.index));
    r.add("Valid", "1");
    r.add("Duress", c.duress ? "1" : "0");
    r.add("Type", std::to_string(c.bio_type));
    r.add("MajorVer", c.version.empty() ? "0" : c.version.substr(0, dot));
    r.add("MinorVer", dot == std::string::npos ? "0" : c.version.substr(dot + 1));
    r.add("Format", "0");
    r.add("Tmp", content);
  } else if (table == "biophoto") {
    r.add("PIN", pin);
    r.add("Type", std::to_string(c.bio_type));
    r.add("Size", std::to_string(content.size()));
    r.add("Content", content);
    r.add("Format", "0");
  } else {
    r.add("pin", pin);
    r.add("size", std::to_string(content.size()));
    r.add("format", "0");
    r.add("content", content);
  }
  return r;
}

// Items that are rows of a table beyond persons (doors.hpp table_items): their table, the field
// that tells their rows apart, and how they are removed — by the item's key where the table deletes
// by it, else all of the table at once (DSTSetting deletes only *).
struct RowKind {
  std::string_view kind, table, row_key, delete_by;  // delete_by "" = all at once
};
constexpr std::array<RowKind, 4> kRowKinds{{
    {"dst", "DSTSetting", "Year", ""},
    {"firstcard", "firstcard", "Pin", "DoorID"},
    {"multicard", "multimcard", "Index", "Index"},
    {"linkage", "inoutfun", "Index", "Index"},
}};

const RowKind* row_kind(const std::string& kind) {
  for (const auto& k : kRowKinds)
    if (k.kind == kind) return &k;
  return nullptr;
}

std::map<std::string, p::Record> parse_rows(const std::optional<std::string>& text, const RowKind& kind) {
  std::map<std::string, p::Record> out;
  if (!text) return out;
  const auto j = Json::parse(*text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& row : j) {
    if (!row.is_object()) continue;
    p::Record r;
    for (const auto& [field, value] : row.items()) r.add(field, value.is_string() ? value.get<std::string>() : value.dump());
    out.emplace(r.get_or(kind.row_key, ""), std::move(r));
  }
  return out;
}

}  // namespace

Plan plan_commands(const std::vector<SyncItem>& items, const PanelCaps& caps, const SyncOptions& options,
                   const CredentialContents& contents) {
  std::vector<Rec> holiday_updates, rule_updates, user_updates, card_updates, auth_updates;
  std::vector<std::pair<p::Record, SyncKey>> auth_deletes, card_deletes, user_deletes, rule_deletes;
  std::map<std::string, std::vector<std::pair<p::Record, SyncKey>>> cred_deletes;  // by table
  std::map<std::string, std::vector<Rec>> cred_updates;  // by table ("biodata 9": one type per command)
  std::vector<std::pair<SyncKey, std::string>> invalid;
  std::vector<SyncKey> holiday_clear;
  std::vector<PlannedCommand> option_commands;
  // Rows of the other tables, by kind: what is cleared (condition, or none for all) and written.
  std::map<std::string, std::vector<std::pair<std::optional<p::Record>, SyncKey>>> row_clears;
  std::map<std::string, std::vector<Rec>> row_updates;
  for (const auto& item : items) {
    const auto& key = item.id.key;
    if (const RowKind* kind = row_kind(item.id.kind)) {
      // A row gone means clearing what the key covers and writing all that remains again; else
      // only new or changed rows are written.
      const auto was = parse_rows(item.applied, *kind), want = parse_rows(item.desired, *kind);
      const bool gone = std::any_of(was.begin(), was.end(), [&](const auto& row) { return !want.count(row.first); });
      if (gone) {
        std::optional<p::Record> condition;
        if (!kind->delete_by.empty()) condition = p::Record{{std::string(kind->delete_by), key}};
        row_clears[item.id.kind].emplace_back(std::move(condition), item.id);
      }
      for (const auto& [row_key, row] : want) {
        auto old = was.find(row_key);
        if (!gone && old != was.end() && old->second.fields == row.fields) continue;
        row_updates[item.id.kind].push_back(Rec{row, item.id, item.batch});
      }
      continue;
    }
    if (item.id.kind == "holidays") {
      // The manual deletes holidays only all at once: a row gone means all again.
      const auto was = item.applied ? parse_holidays(*item.applied) : std::map<std::string, std::pair<int, int>>{};
      const auto want = item.desired ? parse_holidays(*item.desired) : std::map<std::string, std::pair<int, int>>{};
      const bool gone = std::any_of(was.begin(), was.end(), [&](const auto& row) { return !want.count(row.first); });
      if (gone) holiday_clear.push_back(item.id);
      for (const auto& [date, row] : want) {
        auto old = was.find(date);
        if (!gone && old != was.end() && old->second == row) continue;
        p::Record r;
        r.add("Holiday", date);
        r.add("HolidayType", std::to_string(row.first));
        r.add("Loop", std::to_string(row.second));
        holiday_updates.push_back(Rec{std::move(r), item.id, item.batch});
      }
      continue;
    }
    if (item.id.kind == "timerule") {
      if (item.desired) rule_updates.push_back(Rec{rule_record(key, *item.desired), item.id, item.batch});
      else if (item.applied) rule_deletes.emplace_back(p::Record{{"TimezoneId", key}}, item.id);
      continue;
    }
    if (item.id.kind == "door" || item.id.kind == "options") {
      // Options a panel keeps: only what changed is sent; a setting no longer ours is left as is.
      if (!item.desired) continue;
      const auto want = Json::parse(*item.desired, nullptr, false);
      const auto was = item.applied ? Json::parse(*item.applied, nullptr, false) : Json::object();
      p::Record changed;
      if (want.is_object())
        for (const auto& [option, value] : want.items())
          if (!was.is_object() || !was.contains(option) || was[option] != value) changed.add(option, value.get<std::string>());
      if (changed.empty()) continue;
      if (auto command = p::set_options(0, std::move(changed)))
        option_commands.push_back(PlannedCommand{std::move(*command), {item.id}});
      else
        invalid.emplace_back(item.id, command.error().to_string());
      continue;
    }
    if (item.id.kind != "person") continue;
    if (item.desired && !caps.string_pin &&
        !std::all_of(key.begin(), key.end(), [](unsigned char c) { return c >= '0' && c <= '9'; })) {
      invalid.emplace_back(item.id, "pin " + p::text::quoted(key) +
                                        " is not a number and this panel does not take string pins (StringPinFunOn)");
      continue;
    }
    const std::optional<PersonOnPanel> was = item.applied ? std::optional(parse_person(*item.applied)) : std::nullopt;
    const std::optional<PersonOnPanel> want = item.desired ? std::optional(parse_person(*item.desired)) : std::nullopt;
    const p::Record by_pin{{"Pin", key}};
    {
      // Credentials: a row gone is deleted (biodata by instance, photos all at once, so what
      // remains of them is sent again); new or changed ones are written. A credential whose
      // content cannot be read fails its whole item: nothing of it is sent.
      std::map<std::string, std::vector<std::pair<p::Record, SyncKey>>> deletes;
      std::map<std::string, std::vector<Rec>> updates;
      std::string missing;
      const auto had = place(was, caps), has = place(want, caps);
      std::set<std::pair<int, int>> instances_cleared;
      bool photos_cleared = false;
      for (const auto& [k, ref] : had) {
        if (has.count(k)) continue;
        const auto& table = std::get<0>(k);
        if (table == "templatev10") {
          deletes[table].emplace_back(p::Record{{"Pin", key}, {"FingerID", std::to_string(ref->no)}}, item.id);
        } else if (table == "biodata") {
          if (instances_cleared.insert({ref->bio_type, ref->no}).second)
            deletes[table].emplace_back(
                p::Record{{"Type", std::to_string(ref->bio_type)}, {"Pin", key}, {"No", std::to_string(ref->no)}}, item.id);
        } else if (table == "biophoto") {
          if (!photos_cleared) deletes[table].emplace_back(p::Record{{"PIN", key}}, item.id);
          photos_cleared = true;
        } else {
          deletes[table].emplace_back(p::Record{{"pin", key}}, item.id);
        }
      }
      for (const auto& [k, ref] : has) {
        const auto& table = std::get<0>(k);
        auto old = had.find(k);
        const bool again = old == had.end() || !(*old->second == *ref) ||
                           (table == "biodata" && instances_cleared.count({ref->bio_type, ref->no})) ||
                           (table == "biophoto" && photos_cleared);
        if (!again) continue;
        auto content = contents.find(ref->id);
        if (content == contents.end()) {
          missing = "credential " + std::to_string(ref->id) + ": its content could not be read";
          break;
        }
        const std::string bucket = table == "biodata" || table == "biophoto" ? table + " " + std::to_string(ref->bio_type) : table;
        updates[bucket].push_back(Rec{credential_record(table, key, *ref, content->second), item.id, item.batch});
      }
      if (!missing.empty()) {
        invalid.emplace_back(item.id, missing);
        continue;
      }
      for (auto& [table, list] : deletes) for (auto& d : list) cred_deletes[table].push_back(std::move(d));
      for (auto& [bucket, list] : updates) for (auto& u : list) cred_updates[bucket].push_back(std::move(u));
    }
    if (!want) {
      if (!was) continue;
      if (!was->auth.empty()) auth_deletes.emplace_back(by_pin, item.id);
      if (uses_mulcard(*was, caps)) card_deletes.emplace_back(by_pin, item.id);
      user_deletes.emplace_back(by_pin, item.id);
      continue;
    }
    if (!was || !same_user_row(*was, *want, caps)) user_updates.push_back(Rec{user_record(key, *want, caps), item.id, item.batch});
    if (!was || was->cards != want->cards) {
      if (was && uses_mulcard(*was, caps)) card_deletes.emplace_back(by_pin, item.id);
      if (uses_mulcard(*want, caps))
        for (auto& r : card_records(key, *want)) card_updates.push_back(Rec{std::move(r), item.id, item.batch});
    }
    if (!was || was->auth != want->auth) {
      if (was && !was->auth.empty()) auth_deletes.emplace_back(by_pin, item.id);
      for (auto& r : auth_records(key, *want, caps)) auth_updates.push_back(Rec{std::move(r), item.id, item.batch});
    }
  }
  // The order the panel must run them in: holidays first (time rules name their types), time rules
  // before the authorisations that name them, deletes of a person's rows before the updates that
  // re-add them, persons leaving deleted (their credentials first) before any user is added (a full
  // panel makes room first), users before their credentials, cards and authorisations, time rules
  // deleted last.
  std::vector<PlannedCommand> out;
  auto clear_rows = [&](const std::string& kind) {
    const RowKind* k = row_kind(kind);
    std::vector<std::pair<p::Record, SyncKey>> by_condition;
    for (auto& [condition, item] : row_clears[kind]) {
      if (condition) {
        by_condition.emplace_back(std::move(*condition), item);
      } else if (auto command = p::data_delete_all(0, std::string(k->table))) {
        out.push_back(PlannedCommand{std::move(*command), {item}});
      } else {
        invalid.emplace_back(item, command.error().to_string());
      }
    }
    pack_deletes(std::string(k->table), by_condition, out, invalid);
  };
  auto write_rows = [&](const std::string& kind) {
    pack_updates(std::string(row_kind(kind)->table), std::move(row_updates[kind]), caps, options, out, invalid);
  };
  clear_rows("dst");
  write_rows("dst");
  for (const auto& item : holiday_clear) {
    if (auto command = p::data_delete_all(0, "holiday")) out.push_back(PlannedCommand{std::move(*command), {item}});
  }
  pack_updates("holiday", std::move(holiday_updates), caps, options, out, invalid);
  pack_updates("timezone", std::move(rule_updates), caps, options, out, invalid);
  for (auto& command : option_commands) out.push_back(std::move(command));  // they may name those time rules
  pack_deletes("userauthorize", auth_deletes, out, invalid);
  pack_deletes("mulcarduser", card_deletes, out, invalid);
  for (const char* kind : {"firstcard", "multicard", "linkage"}) clear_rows(kind);
  for (const auto& [table, deletes] : cred_deletes) pack_deletes(table, deletes, out, invalid);
  pack_deletes("user", user_deletes, out, invalid);
  pack_updates("user", std::move(user_updates), caps, options, out, invalid);
  for (auto& [bucket, updates] : cred_updates) pack_updates(bucket.substr(0, bucket.find(' ')), std::move(updates), caps, options, out, invalid);
  pack_updates("mulcarduser", std::move(card_updates), caps, options, out, invalid);
  pack_updates("userauthorize", std::move(auth_updates), caps, options, out, invalid);
  for (const char* kind : {"firstcard", "multicard", "linkage"}) write_rows(kind);  // after the users and rules they name
  pack_deletes("timezone", rule_deletes, out, invalid);
  // An item with a record the protocol cannot carry sends nothing at all rather than half a person.
  if (!invalid.empty()) {
    std::erase_if(out, [&](PlannedCommand& c) {
      std::erase_if(c.items, [&](const SyncKey& k) {
        return std::any_of(invalid.begin(), invalid.end(), [&](const auto& bad) { return bad.first == k; });
      });
      return c.items.empty();
    });
  }
  return Plan{std::move(out), std::move(invalid)};
}

// ---- the engine ----------------------------------------------------------------------------------------

Sync::Sync(storage::Store& store, const Clock& clock, CommandQueue& queue, SyncOptions options)
    : store_(store), clock_(clock), queue_(queue), options_(options) {}

storage::StoreStatus Sync::load() {
  auto due = store_.read_now([](storage::Reads& r) { return r.sync().due_panels(); });
  if (!due.ok()) return due.error();
  auto checked = store_.read_now([](storage::Reads& r) { return r.sync().checked_panels(); });
  if (!checked.ok()) return checked.error();
  std::lock_guard lock(mutex_);
  due_.clear();
  for (const auto& [sn, at] : due.value()) due_[sn] = at;
  if (options_.verify_seconds > 0) {
    for (const auto& [sn, at] : checked.value()) {
      auto [it, added] = due_.emplace(sn, at + options_.verify_seconds);
      if (!added) it->second = std::min(it->second, at + options_.verify_seconds);
    }
  }
  return storage::Unit{};
}

void Sync::plan_person(storage::Transaction& tx, const std::string& pin, const std::vector<std::string>& panels,
                       std::int64_t now) {
  const auto person = tx.access().person(pin);
  // The person's own levels say everything about it on every panel: read them once.
  std::vector<storage::AccessLevel> levels;
  if (person)
    for (auto id : person->levels)
      if (auto level = tx.access().level(id)) levels.push_back(std::move(*level));
  plan_person_with(tx, person ? &*person : nullptr, levels, panels, now, pin);
}

void Sync::plan_person_with(storage::Transaction& tx, const storage::Person* person,
                            const std::vector<storage::AccessLevel>& levels, const std::vector<std::string>& panels,
                            std::int64_t now, const std::string& deleted_pin) {
  const std::string& pin = person ? person->pin : deleted_pin;
  // Panels where the person opens the same doors get the same content: made once (a person on 50
  // panels by one level is one content, its templates digested once).
  std::map<DoorsByRule, std::string> made;
  for (const auto& sn : panels) {
    std::optional<std::string> content;
    if (person) {
      if (auto doors = doors_on_panel(*person, levels, sn)) {
        auto it = made.find(*doors);
        if (it == made.end()) it = made.emplace(*doors, content_with(*person, *doors)).first;
        content = it->second;
      }
    }
    tx.sync().put_desired(SyncKey{sn, "person", pin}, content, now);
  }
}

void Sync::plan_panel(storage::Transaction& tx, const std::string& sn, std::int64_t now) {
  const auto levels = tx.access().levels_on(sn);
  std::set<std::int64_t> rules;
  std::vector<std::int64_t> ids;
  for (const auto& l : levels) {
    rules.insert(l.time_rule_id);
    ids.push_back(l.id);
  }
  const auto doors = tx.access().door_settings(sn);
  for (const auto& d : doors)
    for (auto id : rules_named(d)) rules.insert(id);
  std::set<std::string> wanted_rules, wanted_persons;
  for (auto id : rules) {
    auto rule = tx.access().time_rule(id);
    if (!rule) continue;
    wanted_rules.insert(std::to_string(id));
    tx.sync().put_desired(SyncKey{sn, "timerule", std::to_string(id)}, rule_content(*rule), now);
  }
  for (const auto& pin : tx.access().holders(ids)) {
    auto person = tx.access().person(pin);
    if (!person) continue;
    auto content = person_content(*person, levels, sn);
    if (!content) continue;
    wanted_persons.insert(pin);
    tx.sync().put_desired(SyncKey{sn, "person", pin}, content, now);
  }
  for (const auto& d : doors) {
    // The door's options; a door whose settings were all unset has nothing of ours to send.
    auto options = door_options(d);
    std::optional<std::string> content;
    if (!options.empty()) {
      Json j = Json::object();
      for (const auto& f : options.fields) j[f.key] = f.value;
      content = j.dump();
    }
    tx.sync().put_desired(SyncKey{sn, "door", std::to_string(d.door)}, content, now);
  }
  std::set<std::pair<std::string, std::string>> wanted_rows;
  for (auto& row : table_items(doors)) {
    wanted_rows.emplace(row.kind, row.key);
    tx.sync().put_desired(SyncKey{sn, row.kind, row.key}, std::move(row.content), now);
  }
  for (const auto& item : tx.sync().items(sn, "")) {
    if (item.id.kind == "holidays" || item.id.kind == "door" || item.id.kind == "options") continue;
    const bool wanted = item.id.kind == "timerule" ? wanted_rules.count(item.id.key) != 0
                        : item.id.kind == "person" ? wanted_persons.count(item.id.key) != 0
                                                   : wanted_rows.count({item.id.kind, item.id.key}) != 0;
    if (!wanted && item.desired) tx.sync().put_desired(item.id, std::nullopt, now);
  }
  plan_holidays(tx, sn, now, !levels.empty());
}

void Sync::plan_holidays(storage::Transaction& tx, const std::string& sn, std::int64_t now) {
  plan_holidays(tx, sn, now, !tx.access().levels_on(sn).empty());
}

void Sync::plan_holidays(storage::Transaction& tx, const std::string& sn, std::int64_t now, bool in_domain) {
  const SyncKey key{sn, "holidays", "all"};
  if (!in_domain) return tx.sync().put_desired(key, std::nullopt, now);
  const auto holidays = tx.access().holidays();
  // A panel of the domain without holidays holds none of ours: nothing to write (and nothing to
  // delete unless it held some we sent).
  if (holidays.empty() && !tx.sync().item(key)) return;
  tx.sync().put_desired(key, holidays_content(holidays), now);
}

std::vector<std::string> Sync::panels_of(storage::Transaction& tx, const std::vector<std::int64_t>& levels) {
  std::set<std::string> out;
  for (auto id : levels)
    if (auto level = tx.access().level(id))
      for (const auto& d : level->doors) out.insert(d.sn);
  return {out.begin(), out.end()};
}

void Sync::changed(const std::vector<std::string>& panels) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  for (const auto& sn : panels) {
    // Settle: a burst of changes becomes one round. A panel already due keeps its turn.
    auto [it, added] = due_.emplace(sn, now + options_.settle_seconds);
    if (!added && it->second > now) it->second = now + options_.settle_seconds;
  }
}

void Sync::status(const std::string& sn, Reply<SyncStatus> done) const {
  store_.read(
      [sn](storage::Reads& r) {
        SyncStatus s;
        s.counts = r.sync().counts(sn);
        s.failures = r.sync().failures(sn, 100);
        s.panel = r.sync().panel(sn);
        s.unmanaged = r.sync().unmanaged(sn);
        return s;
      },
      std::move(done));
}

void Sync::overview(Reply<std::vector<storage::PanelSyncCounts>> done) const {
  store_.read([](storage::Reads& r) { return r.sync().panel_counts(); }, std::move(done));
}

void Sync::person_status(const std::string& pin, Reply<std::optional<std::vector<storage::SyncItem>>> done) const {
  store_.read(
      [pin](storage::Reads& r) -> std::optional<std::vector<storage::SyncItem>> {
        auto items = r.sync().items_on_panels("person", pin);
        if (items.empty() && !r.access().person(pin)) return std::nullopt;
        return items;
      },
      std::move(done));
}

void Sync::resync(const std::string& sn, bool clear, Reply<storage::Unit> done) {
  const auto now = clock_.now();
  store_.write(
      [this, sn, clear, now](storage::Transaction& tx) {
        std::int64_t queued = 0;
        if (clear) {
          // The operator's full load: the panel's tables are cleared, then all it should hold is sent.
          const auto device = tx.devices().get(sn);
          if (!device) throw storage::Refused(storage::StoreError::Reason::not_found, "unknown device " + sn);
          const auto caps = panel_caps(device->options);
          std::vector<std::string> tables{"userauthorize", "user", "timezone"};
          if (caps.multi_card) tables.insert(tables.begin() + 1, "mulcarduser");
          for (const auto& table : tables) {
            auto command = p::data_delete_all(0, table);
            if (!command) continue;
            tx.commands().insert(queue_.prepare_generated(sn, *command, storage::CommandPriority::bulk), now);
            ++queued;
          }
          tx.sync().count_commands(sn, queued);
          tx.sync().forget_applied(sn, now);
        }
        plan_panel(tx, sn, now);
        // A reconcile now includes what failed: its retry is not waited for.
        for (auto& item : tx.sync().failures(sn, 0)) {
          item.retry_at = 0;
          tx.sync().update(item);
        }
        return queued;
      },
      [this, sn, done = std::move(done)](storage::StoreResult<std::int64_t> r) {
        if (!r.ok()) return done(r.error());
        if (r.value() > 0) queue_.note_queued(sn, r.value());
        {
          std::lock_guard lock(mutex_);
          due_[sn] = 0;
        }
        done(storage::Unit{});
      });
}

void Sync::verify(const std::string& sn, Reply<storage::Unit> done) {
  store_.write(
      [sn](storage::Transaction& tx) {
        const auto panel = tx.sync().panel(sn);
        tx.sync().set_check(sn, panel.checked_at, true, panel.check_result);
      },
      [this, sn, done = std::move(done)](storage::StoreStatus st) {
        if (!st.ok()) return done(st);
        {
          std::lock_guard lock(mutex_);
          due_[sn] = 0;
        }
        done(storage::Unit{});
      });
}

void Sync::replace(const std::string& from, const std::string& to, Reply<storage::Unit> done) {
  const auto now = clock_.now();
  store_.write(
      [from, to, now](storage::Transaction& tx) {
        tx.access().move_panel(from, to);
        tx.sync().move_panel(from, to, now);
        plan_panel(tx, to, now);
        plan_panel(tx, from, now);
      },
      [this, from, to, done = std::move(done)](storage::StoreStatus s) {
        if (!s.ok()) return done(s);
        {
          std::lock_guard lock(mutex_);
          due_[to] = 0;
          due_.erase(from);
        }
        done(storage::Unit{});
      });
}

bool Sync::has_work(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = due_.find(sn);
  return it != due_.end() && it->second <= clock_.now();
}

std::optional<std::int64_t> Sync::next_due(storage::Transaction& tx, const std::string& sn) const {
  if (tx.sync().in_flight(sn)) return std::nullopt;  // the answers re-arm the panel
  auto due = tx.sync().next_due(sn);
  const auto panel = tx.sync().panel(sn);
  std::optional<std::int64_t> check;
  if (panel.check_wanted) check = 0;
  else if (options_.verify_seconds > 0 && panel.checked_at > 0) check = panel.checked_at + options_.verify_seconds;
  if (check) due = due ? std::min(*due, *check) : *check;
  return due;
}

bool Sync::start_check(storage::Transaction& tx, const std::string& sn, bool has_items, std::int64_t now) {
  const auto panel = tx.sync().panel(sn);
  std::string kind;
  if (panel.check_wanted || (panel.checked_at == 0 && has_items)) kind = "query";  // joining, or asked
  else if (options_.verify_seconds > 0 && panel.checked_at > 0 && now >= panel.checked_at + options_.verify_seconds)
    kind = "count";
  if (kind.empty()) return false;
  // Nothing is checked on a panel outside the domain (never wiped, never read).
  if (!has_items && tx.sync().items(sn, "").empty()) {
    tx.sync().set_check(sn, panel.checked_at, false, panel.check_result);
    return false;
  }
  auto command = kind == "query" ? p::data_query(0, "user", p::Record{}) : p::data_count(0, "user");
  if (!command) return false;
  const auto row = tx.commands().insert(queue_.prepare_generated(sn, *command, storage::CommandPriority::bulk), now);
  tx.sync().link(row.id, {SyncKey{sn, "check", kind}});
  std::int64_t commands = 1;
  // A panel written to before: the template tables it was given are read too (templates lost while
  // users stayed). The manual reads back user, templatev10, biodata and biophoto only: a panel's
  // authorisations cannot be read.
  if (kind == "query" && panel.checked_at > 0) {
    const auto device = tx.devices().get(sn);
    const PanelCaps caps = device ? panel_caps(device->options) : PanelCaps{};
    std::set<std::string> tables;
    for (const auto& item : tx.sync().items(sn, "person")) {
      if (!item.applied || item.applied->find("\"creds\"") == std::string::npos) continue;
      const std::optional<PersonOnPanel> person = parse_person(*item.applied);  // place() points into it
      for (const auto& placed : place(person, caps)) {
        const auto& table = std::get<0>(placed.first);
        if (table == "templatev10" || table == "biodata") tables.insert(table);
      }
    }
    for (const auto& table : tables) {
      auto query = p::data_query(0, table, p::Record{});
      if (!query) continue;
      const auto query_row = tx.commands().insert(queue_.prepare_generated(sn, *query, storage::CommandPriority::bulk), now);
      tx.sync().link(query_row.id, {SyncKey{sn, "check", "query-" + table}});
      ++commands;
    }
  }
  tx.sync().count_commands(sn, commands);
  spdlog::info("{}: sync reads the panel's users ({}) {}", sn, kind == "query" ? "DATA QUERY" : "DATA COUNT",
               panel.checked_at == 0 ? "before its first write" : panel.check_wanted ? "as asked" : "as its periodic check");
  return true;
}

CheckFinding compare_users(const std::vector<std::string>& held, const std::vector<SyncItem>& items) {
  CheckFinding f;
  const std::set<std::string> on_panel(held.begin(), held.end());
  std::set<std::string> managed;
  std::size_t applied = 0;
  for (const auto& item : items) {
    if (item.desired || item.applied || item.sending) managed.insert(item.id.key);
    if (!item.applied) continue;
    ++applied;
    if (!on_panel.count(item.id.key)) f.lost.push_back(item.id.key);
  }
  for (const auto& pin : on_panel)
    if (!managed.count(pin)) f.unmanaged.push_back(pin);
  // Far fewer than it should hold: more than half of what it was known to hold is gone.
  f.reset = applied >= 2 && f.lost.size() * 2 > applied;
  f.summary = "holds " + std::to_string(on_panel.size()) + " user(s); " + std::to_string(applied) +
              " known applied, " + std::to_string(f.lost.size()) + " missing, " + std::to_string(f.unmanaged.size()) +
              " unmanaged";
  if (f.reset) f.summary += ": reset, full load";
  else if (!f.lost.empty()) f.summary += ": missing ones sent again";
  return f;
}

namespace {

// The records of a check's answers: the querydata uploads stored with its command.
std::optional<std::int64_t> counted_users(const std::vector<storage::CommandData>& data) {
  for (const auto& d : data) {
    if (d.kind != "count") continue;
    auto req = p::parse_device_request("POST", "/iclock/querydata?SN=check&cmdid=1&type=count&tablename=user", d.body);
    if (req)
      if (auto n = p::counted_value(*req)) return n;
  }
  return std::nullopt;
}

std::vector<std::string> queried_pins(const std::vector<storage::CommandData>& data, const std::string& table = "user") {
  std::vector<std::string> out;
  for (const auto& d : data) {
    if (d.kind != "tabledata") continue;
    auto req = p::parse_device_request("POST", "/iclock/querydata?SN=check&cmdid=1&type=tabledata&tablename=" + table, d.body);
    if (!req) continue;
    for (const auto& r : req->records)
      if (auto pin = r.get("pin"); pin && !pin->empty()) out.emplace_back(*pin);
  }
  return out;
}

}  // namespace

void Sync::finish_check(storage::Transaction& tx, const storage::CommandRow& row, const std::string& kind,
                        std::int64_t now) {
  const auto& sn = row.sn;
  if (kind.rfind("query-", 0) == 0) return finish_template_check(tx, row, kind.substr(6), now);
  if (row.status != storage::CommandStatus::done) {
    // A panel that cannot say what it holds is written to all the same (nothing is deleted that
    // the engine did not write); the failure is in its sync view.
    std::string why = std::string(kind == "query" ? "DATA QUERY" : "DATA COUNT") + " user " +
                      storage::command_status_name(row.status);
    if (row.return_code) why += " (Return=" + std::to_string(*row.return_code) + ")";
    spdlog::warn("{}: sync check: {}", sn, why);
    tx.sync().set_check(sn, now, false, why);
    return;
  }
  const auto data = tx.commands().data(row.id);
  if (kind == "count") {
    const auto n = counted_users(data);
    const auto expected = tx.sync().applied_count(sn, "person") + static_cast<std::int64_t>(tx.sync().unmanaged(sn).size());
    if (n && *n == expected) {
      tx.sync().set_check(sn, now, false, "DATA COUNT user = " + std::to_string(*n) + ", as expected");
      return;
    }
    const std::string found = n ? std::to_string(*n) : "no count";
    spdlog::warn("{}: sync check: DATA COUNT user = {}, {} expected: reading its users", sn, found, expected);
    tx.sync().set_check(sn, now, true, "DATA COUNT user = " + found + ", " + std::to_string(expected) + " expected");
    return;
  }
  auto items = tx.sync().items(sn, "person");
  const auto finding = compare_users(queried_pins(data), items);
  tx.sync().set_unmanaged(sn, "user", finding.unmanaged);
  if (finding.reset) {
    tx.sync().forget_applied(sn, now);
  } else if (!finding.lost.empty()) {
    const std::set<std::string> lost(finding.lost.begin(), finding.lost.end());
    for (auto& item : items) {
      if (!lost.count(item.id.key)) continue;
      item.applied.reset();
      item.state = item.desired ? SyncState::pending : SyncState::applied;  // applied + nothing = gone
      item.updated_at = now;
      tx.sync().update(item);
    }
  }
  spdlog::log(finding.reset || !finding.lost.empty() ? spdlog::level::warn : spdlog::level::info, "{}: sync check: {}",
              sn, finding.summary);
  tx.sync().set_check(sn, now, false, finding.summary);
}

void Sync::finish_template_check(storage::Transaction& tx, const storage::CommandRow& row, const std::string& table,
                                 std::int64_t now) {
  const auto& sn = row.sn;
  const auto panel = tx.sync().panel(sn);
  auto note = [&](const std::string& what) {
    tx.sync().set_check(sn, now, false, panel.check_result + (panel.check_result.empty() ? "" : "; ") + what);
  };
  if (row.status != storage::CommandStatus::done) {
    note("DATA QUERY " + table + " " + storage::command_status_name(row.status));
    return;
  }
  // Persons known to hold templates of that table there whose pin has none on the panel are sent
  // again (a person is one record of the engine: its user row and credentials with it).
  const auto listed = queried_pins(tx.commands().data(row.id), table);
  const std::set<std::string> held(listed.begin(), listed.end());
  const auto device = tx.devices().get(sn);
  const PanelCaps caps = device ? panel_caps(device->options) : PanelCaps{};
  std::size_t expected = 0, lost = 0;
  for (auto& item : tx.sync().items(sn, "person")) {
    if (!item.applied || item.applied->find("\"creds\"") == std::string::npos) continue;
    const std::optional<PersonOnPanel> person = parse_person(*item.applied);  // place() points into it
    const auto placed = place(person, caps);
    if (std::none_of(placed.begin(), placed.end(), [&](const auto& where) { return std::get<0>(where.first) == table; })) continue;
    ++expected;
    if (held.count(item.id.key)) continue;
    item.applied.reset();
    item.state = item.desired ? SyncState::pending : SyncState::applied;
    item.updated_at = now;
    tx.sync().update(item);
    ++lost;
  }
  const std::string what = table + ": " + std::to_string(expected) + " person(s) known to hold templates, " +
                           std::to_string(lost) + " missing" + (lost > 0 ? ": sent again" : "");
  spdlog::log(lost > 0 ? spdlog::level::warn : spdlog::level::info, "{}: sync check: {}", sn, what);
  note(what);
}

std::int64_t Sync::generate(storage::Transaction& tx, const std::string& sn, std::int64_t now) {
  if (tx.sync().in_flight(sn)) {
    stage(sn, std::nullopt);  // the answers re-arm the panel
    return 0;
  }
  auto items = tx.sync().due(sn, now, options_.items_per_round);
  if (start_check(tx, sn, !items.empty(), now)) {
    stage(sn, std::nullopt);  // its answer re-arms the panel
    return 1;
  }
  if (items.empty()) {
    stage(sn, next_due(tx, sn));
    return 0;
  }
  const auto device = tx.devices().get(sn);
  const PanelCaps caps = device ? panel_caps(device->options) : PanelCaps{};
  // AccSupportFunList[7]: "the software delivers the device setting MulCardUserFunOn=1". Once, in
  // the panel's first round, ahead of its mulcarduser rows; kept as the panel's "options" item.
  // A panel that stops saying so (a replacement without multi-card) is no longer sent it.
  {
    const SyncKey key{sn, "options", "panel"};
    const auto current = tx.sync().item(key);
    if (caps.multi_card && !current) {
      tx.sync().put_desired(key, std::string(R"({"MulCardUserFunOn":"1"})"), now);
      if (auto item = tx.sync().item(key)) items.insert(items.begin(), std::move(*item));
    } else if (!caps.multi_card && current && current->desired) {
      tx.sync().put_desired(key, std::nullopt, now);
    }
  }
  // Templates and photos are sent from the domain (the sync contents hold only their digests).
  CredentialContents contents;
  for (const auto& item : items) {
    if (item.id.kind != "person" || !item.desired || item.desired->find("\"creds\"") == std::string::npos) continue;
    if (auto person = tx.access().person(item.id.key))
      for (const auto& c : person->credentials) contents.emplace(c.id, c.content);
  }
  const auto plan = plan_commands(items, caps, options_, contents);
  std::set<std::string> carried, refused;
  std::int64_t queued = 0;
  for (const auto& [key, reason] : plan.invalid) {
    if (!refused.insert(key.kind + '\n' + key.key).second) continue;
    spdlog::warn("{}: sync {} {} cannot be sent: {}", sn, key.kind, key.key, reason);
    for (auto& item : items) {
      if (!(item.id == key)) continue;
      item.state = SyncState::failed;
      item.attempts += 1;
      item.return_code.reset();
      item.error = reason;
      item.retry_at = now + options_.retry_max;  // a record the protocol cannot carry stays refused
      item.updated_at = now;
      tx.sync().update(item);
    }
  }
  std::int64_t data_commands = 0;
  for (const auto& planned : plan.commands) {
    const auto row = tx.commands().insert(queue_.prepare_generated(sn, planned.command, storage::CommandPriority::bulk), now);
    tx.sync().link(row.id, planned.items);
    tx.sync().mark_sending(row.id, now);
    for (const auto& key : planned.items) carried.insert(key.kind + '\n' + key.key);
    ++queued;
    const auto verb = planned.command.verb();
    if (verb == p::Verb::data_update || verb == p::Verb::data_delete) ++data_commands;
  }
  for (auto& item : items) {
    const std::string id = item.id.kind + '\n' + item.id.key;
    if (refused.count(id)) continue;
    if (carried.count(id)) continue;  // marked sending with its commands (mark_sending)
    // Nothing to send: the panel's records already say what is desired (a change of something
    // this panel does not store).
    item.applied = item.desired;
    item.state = SyncState::applied;
    item.batch = 0;
    item.attempts = 0;
    item.updated_at = now;
    tx.sync().update(item);
  }
  if (data_commands > 0) tx.sync().count_commands(sn, data_commands);
  stage(sn, queued > 0 ? std::nullopt : next_due(tx, sn));
  if (queued > 0) spdlog::info("{}: sync queued {} DATA command(s) for {} record(s)", sn, queued, items.size());
  return queued;
}

void Sync::closed(storage::Transaction& tx, const storage::CommandRow& row, std::int64_t now) {
  auto keys = tx.sync().carried_by(row.id);
  if (keys.empty()) return;
  if (keys.front().kind == "check") {
    finish_check(tx, row, keys.front().key, now);
    tx.sync().unlink(row.id);
    stage(row.sn, next_due(tx, row.sn));
    return;
  }
  const bool ok = row.status == storage::CommandStatus::done;
  const bool failed = row.status == storage::CommandStatus::failed;
  std::string meaning;
  if (failed && row.return_code) {
    meaning = "Return=" + std::to_string(*row.return_code);
    const auto verb = p::verb_from_name(row.verb).value_or(p::Verb::data_update);
    if (auto name = p::interpret_return(verb, *row.return_code).name) meaning += " (" + std::string(*name) + ")";
  }
  // The usual case in one statement: a success for items only this command was sending.
  std::set<std::pair<std::string, std::string>> settled, alone;
  if (ok) {
    for (auto& k : tx.sync().settle_sent(row.id, now)) settled.emplace(std::move(k.kind), std::move(k.key));
    for (auto& k : tx.sync().carried_alone(row.id)) alone.emplace(std::move(k.kind), std::move(k.key));
  }
  for (const auto& key : keys) {
    if (settled.count({key.kind, key.key})) continue;
    const bool last = ok ? alone.count({key.kind, key.key}) != 0 : tx.sync().sends_of(key) <= 1;
    if (ok && !last) continue;  // the item's other commands decide: nothing to note from a success
    auto item = tx.sync().item(key);
    if (!item) continue;
    if (failed && keys.size() == 1) {
      item->state = SyncState::failed;
      item->attempts += 1;
      item->return_code = row.return_code;
      item->error = meaning;
      item->retry_at = now + backoff(options_, item->attempts);
      item->batch = 1;
    } else if (failed) {
      // Split: the record at fault is among these; they go again in commands half as large.
      const auto half = static_cast<std::int64_t>(std::max<std::size_t>(1, keys.size() / 2));
      item->batch = item->batch > 0 ? std::min(item->batch, half) : half;
      if (item->error.empty()) item->error = "in a command of " + std::to_string(keys.size()) + " that failed: " + meaning;
    } else if (!ok) {
      if (item->error.empty()) item->error = std::string("command ") + storage::command_status_name(row.status);
    }
    if (last) {
      if (item->state == SyncState::sending) {
        if (item->error.empty()) {
          item->applied = item->sending;
          item->attempts = 0;
          item->batch = 0;
          item->state = item->desired == item->applied ? SyncState::applied : SyncState::pending;
        } else {
          item->state = SyncState::pending;
        }
        item->error.clear();
        if (item->state != SyncState::failed) item->return_code.reset();
      }
      item->sending.reset();
    }
    item->updated_at = now;
    tx.sync().update(*item);
  }
  tx.sync().unlink(row.id);
  stage(row.sn, next_due(tx, row.sn));
  tell_progress(tx, row.sn, now);
}

void Sync::tell_progress(storage::Transaction& tx, const std::string& sn, std::int64_t now) {
  // Over when nothing is in flight and nothing is due now (what failed waits for its retry). At
  // most one message per panel every few seconds while a round goes on (counting costs a scan of
  // the panel's records), and one when it ends.
  const auto pending_due = tx.sync().next_due(sn);
  const bool round_over = !tx.sync().in_flight(sn) && (!pending_due || *pending_due > now);
  {
    std::lock_guard lock(mutex_);
    auto& last = told_[sn];
    if (!round_over && now - last < kProgressEvery) return;
    last = now;
  }
  const auto c = tx.sync().counts(sn);
  nlohmann::ordered_json body{{"sn", sn},
                              {"state", round_over ? (c.failed > 0 ? "failed" : "applied") : "syncing"},
                              {"pending", c.pending},
                              {"applied", c.applied},
                              {"failed", c.failed},
                              {"in_flight", c.in_flight},
                              {"time", now}};
  tx.messages().add("sync", sn, body.dump(), now);
}

void Sync::stage(const std::string& sn, std::optional<std::int64_t> due) {
  std::lock_guard lock(mutex_);
  staged_[sn] = due;
}

void Sync::apply_staged(const std::string& sn, bool ok) {
  std::lock_guard lock(mutex_);
  auto it = staged_.find(sn);
  if (it == staged_.end()) return;
  if (ok) {
    if (it->second) {
      // Keep a sooner turn a change asked for meanwhile.
      auto [d, added] = due_.emplace(sn, *it->second);
      if (!added) d->second = std::min(d->second, *it->second);
    } else {
      due_.erase(sn);
    }
  }
  staged_.erase(it);
}

void Sync::generated(const std::string& sn, bool ok) { apply_staged(sn, ok); }

void Sync::after_closed(const std::string& sn, bool ok) { apply_staged(sn, ok); }

}  // namespace zkpush::service
