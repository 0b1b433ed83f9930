// The routes of the access domain (persons, credentials, time rules, holidays, access levels, doors) and of each panel's sync:
// parse and check the JSON, call the access or sync service, answer with the shapes below. The
// contract is in docs/access.md.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "protocol/base64.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"
#include "protocol/command_builders.hpp"
#include "protocol/commands.hpp"
#include "service/credentials.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

// ---- shapes ----------------------------------------------------------------------------------------

Json nullable_text(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

std::string hhmm(int minutes) {
  const int h = minutes / 60, m = minutes % 60;
  return std::string{static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                     static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10)};
}

Json person_json(const storage::Person& person) {
  Json j;
  j["pin"] = person.pin;
  j["name"] = person.name;
  Json cards = Json::array(), lost = Json::array();
  for (const auto& c : person.cards) {
    cards.push_back(c.number);
    if (c.lost) lost.push_back(c.number);
  }
  j["cards"] = std::move(cards);
  j["lost_cards"] = std::move(lost);
  j["access_levels"] = person.levels;
  Json credentials = Json::array();
  for (const auto& c : person.credentials) {
    Json k;
    k["id"] = c.id;
    k["type"] = c.type;
    if (c.type == "fingerprint") k["finger"] = c.no;
    else k["no"] = c.no;
    k["bio_type"] = c.bio_type;
    k["index"] = c.index;
    k["format"] = c.format;
    k["version"] = nullable_text(c.version);
    k["duress"] = c.duress;
    k["enrolled_at"] = nullable_text(c.enrolled_at);
    k["created_at"] = c.created_at;
    credentials.push_back(std::move(k));
  }
  j["credentials"] = std::move(credentials);
  j["privilege"] = person.privilege;
  j["group"] = person.group;
  j["has_password"] = !person.password.empty();
  j["valid_from"] = nullable_text(person.valid_from);
  j["valid_until"] = nullable_text(person.valid_until);
  j["disabled"] = person.disabled;
  j["enrolled_at"] = nullable_text(person.enrolled_at);
  j["created_at"] = person.created_at;
  j["updated_at"] = person.updated_at;
  return j;
}

Json rule_json(const storage::TimeRule& rule) {
  Json j;
  j["id"] = rule.id;
  j["name"] = rule.name;
  Json segments = Json::object();
  for (std::size_t d = 0; d < storage::kRuleDays.size(); ++d) {
    Json periods = Json::array();
    for (const auto& period : rule.days[d]) periods.push_back(Json::array({hhmm(period.start), hhmm(period.end)}));
    segments[storage::kRuleDays[d]] = std::move(periods);
  }
  j["segments"] = std::move(segments);
  return j;
}

Json level_json(const storage::AccessLevel& level) {
  Json j;
  j["id"] = level.id;
  j["name"] = level.name;
  j["time_rule_id"] = level.time_rule_id;
  Json doors = Json::array();
  for (const auto& d : level.doors) doors.push_back(Json{{"sn", d.sn}, {"door", d.door}});
  j["doors"] = std::move(doors);
  return j;
}

Json holiday_json(const storage::Holiday& h) {
  return Json{{"id", h.id}, {"name", h.name}, {"start", h.start}, {"end", h.end}, {"type", h.type}, {"yearly", h.yearly}};
}

Json sync_json(const service::SyncStatus& s) {
  Json j;
  j["pending"] = s.counts.pending;
  j["applied"] = s.counts.applied;
  j["failed"] = s.counts.failed;
  Json errors = Json::array();
  for (const auto& item : s.failures) {
    Json e;
    e["kind"] = item.id.kind;
    e["key"] = item.id.key;
    e["return"] = item.return_code ? Json(*item.return_code) : Json(nullptr);
    e["error"] = item.error;
    e["attempts"] = item.attempts;
    e["retry_at"] = item.retry_at;
    errors.push_back(std::move(e));
  }
  j["errors"] = std::move(errors);
  j["commands"] = s.counts.commands;
  j["in_flight"] = s.counts.in_flight;
  // What the panel was last found to hold (checked_at null: never read yet).
  j["checked_at"] = s.panel.checked_at > 0 ? Json(s.panel.checked_at) : Json(nullptr);
  j["check"] = s.panel.check_result;
  j["check_pending"] = s.panel.check_wanted;
  Json unmanaged = Json::array();
  for (const auto& k : s.unmanaged) unmanaged.push_back(Json{{"table", k.kind}, {"pin", k.key}});
  j["unmanaged"] = std::move(unmanaged);
  return j;
}

// ---- parsing ------------------------------------------------------------------------------------------

// A JSON body that must be an object, with only the `known` fields when they are given; the
// problem otherwise.
std::optional<Json> object_body(const std::string& body, std::string& problem,
                                std::initializer_list<std::string_view> known = {}) {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    problem = "malformed JSON body";
    return std::nullopt;
  }
  if (!j.is_object()) {
    problem = "expected a JSON object";
    return std::nullopt;
  }
  if (known.size() == 0) return j;
  for (const auto& item : j.items()) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    std::string names;
    for (auto k : known) names += (names.empty() ? "" : ", ") + std::string(k);
    problem = "unknown field " + p::text::quoted(item.key()) + " (" + names + ")";
    return std::nullopt;
  }
  return j;
}

std::optional<int> minutes_of(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto text = v.get<std::string>();
  if (text == "24:00") return 1439;  // end of the day, as the panel stores it
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  const auto h = p::text::parse_int(text.substr(0, 2)), m = p::text::parse_int(text.substr(3, 2));
  if (!h || !m || *h < 0 || *h > 23 || *m < 0 || *m > 59) return std::nullopt;
  return static_cast<int>(*h * 60 + *m);
}

// {"mon": [["08:00","18:00"]], ...}: days absent have no period (closed).
std::optional<std::array<std::vector<storage::Period>, 10>> parse_segments(const Json& j, std::string& problem) {
  if (!j.is_object()) {
    problem = "segments: an object of days (sun..sat, hol1..hol3), each a list of [\"HH:MM\", \"HH:MM\"]";
    return std::nullopt;
  }
  std::array<std::vector<storage::Period>, 10> days;
  for (const auto& [key, periods] : j.items()) {
    const auto* day = std::find(storage::kRuleDays.begin(), storage::kRuleDays.end(), p::text::to_lower(key));
    if (day == storage::kRuleDays.end()) {
      problem = "segments: unknown day " + p::text::quoted(key) + " (sun mon tue wed thu fri sat hol1 hol2 hol3)";
      return std::nullopt;
    }
    if (!periods.is_array()) {
      problem = "segments." + key + ": a list of [\"HH:MM\", \"HH:MM\"]";
      return std::nullopt;
    }
    for (const auto& period : periods) {
      std::optional<int> start, end;
      if (period.is_array() && period.size() == 2) {
        start = minutes_of(period[0]);
        end = minutes_of(period[1]);
      }
      if (!start || !end) {
        problem = "segments." + key + ": periods are [\"HH:MM\", \"HH:MM\"], not " + period.dump();
        return std::nullopt;
      }
      days[static_cast<std::size_t>(day - storage::kRuleDays.begin())].push_back(storage::Period{*start, *end});
    }
  }
  return days;
}

std::optional<service::RuleFields> parse_rule(const Json& j, bool create, std::string& problem) {
  service::RuleFields f;
  for (const auto& [key, v] : j.items()) {
    if (key == "name") {
      if (!v.is_string()) return problem = "name: a string", std::nullopt;
      f.name = v.get<std::string>();
    } else if (key == "segments") {
      auto days = parse_segments(v, problem);
      if (!days) return std::nullopt;
      f.days = std::move(*days);
    } else if (key != "id") {
      return problem = "unknown field " + p::text::quoted(key) + " (name, segments)", std::nullopt;
    }
  }
  if (create && !f.name) return problem = "name: required", std::nullopt;
  if (create && !f.days) return problem = "segments: required", std::nullopt;
  return f;
}

// {"name", "date"} for one day, or {"name", "start", "end"}; "type" 1-3 (default 1), "yearly".
std::optional<service::HolidayFields> parse_holiday(const Json& j, bool create, std::string& problem) {
  service::HolidayFields f;
  for (const auto& [key, v] : j.items()) {
    if (key == "name" || key == "date" || key == "start" || key == "end") {
      if (!v.is_string()) return problem = key + ": a string", std::nullopt;
      const auto text = v.get<std::string>();
      if (key == "name") f.name = text;
      else if (key == "date") f.start = f.end = text;
      else if (key == "start") f.start = text;
      else f.end = text;
    } else if (key == "type") {
      if (!v.is_number_integer()) return problem = "type: 1, 2 or 3", std::nullopt;
      f.type = v.get<int>();
    } else if (key == "yearly") {
      if (!v.is_boolean()) return problem = "yearly: true or false", std::nullopt;
      f.yearly = v.get<bool>();
    } else if (key != "id") {
      return problem = "unknown field " + p::text::quoted(key) + " (name, date or start and end, type, yearly)", std::nullopt;
    }
  }
  if (j.contains("date") && (j.contains("start") || j.contains("end")))
    return problem = "either date, or start and end", std::nullopt;
  if (create && !f.name) return problem = "name: required", std::nullopt;
  if (create && !f.start) return problem = "date (or start and end): required", std::nullopt;
  if (create && !f.end) f.end = f.start;
  return f;
}

// {"type": "fingerprint", "finger": 0-9, "template": "<base64>", "version": "10.0", "duress": false}
// for a template ("face", "palm"... with "no" and "index" for biodata instances), {"type": "face",
// "photo": "<base64>"} for a comparison photo, {"type": "photo", "photo": "<base64>"} for the user photo.
std::optional<storage::Credential> parse_credential(const Json& j, std::string& problem) {
  storage::Credential c;
  std::string type, tmpl, photo;
  for (const auto& [key, v] : j.items()) {
    if (key == "type" || key == "template" || key == "photo" || key == "version") {
      if (!v.is_string()) return problem = key + ": a string", std::nullopt;
      auto text = v.get<std::string>();
      if (key == "type") type = std::move(text);
      else if (key == "template") tmpl = std::move(text);
      else if (key == "photo") photo = std::move(text);
      else c.version = std::move(text);
    } else if (key == "finger" || key == "no" || key == "index") {
      if (!v.is_number_integer()) return problem = key + ": a number", std::nullopt;
      (key == "index" ? c.index : c.no) = v.get<int>();
    } else if (key == "duress") {
      if (!v.is_boolean()) return problem = "duress: true or false", std::nullopt;
      c.duress = v.get<bool>();
    } else {
      return problem = "unknown field " + p::text::quoted(key) +
                       " (type, finger, no, index, template, photo, version, duress)", std::nullopt;
    }
  }
  if (tmpl.empty() == photo.empty()) return problem = "either template or photo (base64)", std::nullopt;
  if (type == "photo") {
    if (photo.empty()) return problem = "a user photo is a photo, not a template", std::nullopt;
    c.bio_type = 0;
    c.format = "userpic";
    c.content = std::move(photo);
    return c;
  }
  auto bio = service::bio_type_of(type);
  if (!bio)
    return problem = "type: fingerprint, face, palm, finger_vein, iris, voiceprint, retina, palmprint or photo, not " +
                     p::text::quoted(type), std::nullopt;
  c.bio_type = *bio;
  if (!photo.empty()) {
    c.format = "biophoto";
    c.content = std::move(photo);
    c.no = c.index = 0;
    return c;
  }
  // A fingerprint of algorithm 10 (the default) is a templatev10 row; anything else is biodata.
  if (c.bio_type == 1 && c.version.empty()) c.version = "10.0";
  c.format = c.bio_type == 1 && c.version.substr(0, c.version.find('.')) == "10" ? "templatev10" : "biodata";
  c.content = std::move(tmpl);
  return c;
}

std::optional<service::LevelFields> parse_level(const Json& j, bool create, std::string& problem) {
  service::LevelFields f;
  for (const auto& [key, v] : j.items()) {
    if (key == "name") {
      if (!v.is_string()) return problem = "name: a string", std::nullopt;
      f.name = v.get<std::string>();
    } else if (key == "time_rule_id") {
      if (!v.is_number_integer()) return problem = "time_rule_id: the id of a time rule", std::nullopt;
      f.time_rule_id = v.get<std::int64_t>();
    } else if (key == "doors") {
      if (!v.is_array()) return problem = "doors: a list of {\"sn\": \"...\", \"door\": n}", std::nullopt;
      std::vector<storage::LevelDoor> doors;
      for (const auto& d : v) {
        if (!d.is_object() || !d.contains("sn") || !d["sn"].is_string() || !d.contains("door") ||
            !d["door"].is_number_integer())
          return problem = "doors: each {\"sn\": \"<serial number>\", \"door\": <1-64>}, not " + d.dump(), std::nullopt;
        doors.push_back(storage::LevelDoor{d["sn"].get<std::string>(), d["door"].get<int>()});
      }
      f.doors = std::move(doors);
    } else if (key != "id") {
      return problem = "unknown field " + p::text::quoted(key) + " (name, time_rule_id, doors)", std::nullopt;
    }
  }
  if (create && !f.name) return problem = "name: required", std::nullopt;
  return f;
}

std::optional<service::PersonFields> parse_person(const Json& j, std::string& problem) {
  service::PersonFields f;
  auto text = [&](const char* key, const Json& v, std::optional<std::string>& out) {
    if (v.is_null()) return out = std::string(), true;
    if (!v.is_string()) return problem = std::string(key) + ": a string", false;
    out = v.get<std::string>();
    return true;
  };
  std::optional<std::vector<std::string>> lost;
  for (const auto& [key, v] : j.items()) {
    if (key == "pin") continue;  // checked by the caller
    if (key == "name") {
      if (!text("name", v, f.name)) return std::nullopt;
    } else if (key == "password") {
      if (v.is_number_unsigned()) f.password = std::to_string(v.get<std::uint64_t>());
      else if (!text("password", v, f.password)) return std::nullopt;
    } else if (key == "valid_from") {
      if (!text("valid_from", v, f.valid_from)) return std::nullopt;
    } else if (key == "valid_until") {
      if (!text("valid_until", v, f.valid_until)) return std::nullopt;
    } else if (key == "privilege") {
      if (!v.is_number_integer()) return problem = "privilege: a number", std::nullopt;
      f.privilege = v.get<int>();
    } else if (key == "group") {
      if (!v.is_number_integer()) return problem = "group: a number", std::nullopt;
      f.group = v.get<int>();
    } else if (key == "disabled") {
      if (!v.is_boolean()) return problem = "disabled: true or false", std::nullopt;
      f.disabled = v.get<bool>();
    } else if (key == "cards") {
      if (!v.is_array()) return problem = "cards: a list of card numbers", std::nullopt;
      std::vector<storage::Card> cards;
      for (const auto& c : v) {
        if (c.is_string()) cards.push_back(storage::Card{c.get<std::string>(), false});
        else if (c.is_number_unsigned()) cards.push_back(storage::Card{std::to_string(c.get<std::uint64_t>()), false});
        else if (c.is_object() && c.contains("number") && c["number"].is_string())
          cards.push_back(storage::Card{c["number"].get<std::string>(), c.value("lost", false)});
        else return problem = "cards: card numbers as strings (or {\"number\": \"...\", \"lost\": true})", std::nullopt;
      }
      f.cards = std::move(cards);
    } else if (key == "lost_cards") {
      if (!v.is_array()) return problem = "lost_cards: a list of card numbers", std::nullopt;
      lost.emplace();
      for (const auto& c : v) {
        if (!c.is_string()) return problem = "lost_cards: card numbers as strings", std::nullopt;
        lost->push_back(c.get<std::string>());
      }
    } else if (key == "access_levels") {
      if (!v.is_array()) return problem = "access_levels: a list of access level ids", std::nullopt;
      std::vector<std::int64_t> levels;
      for (const auto& id : v) {
        if (!id.is_number_integer()) return problem = "access_levels: ids are numbers", std::nullopt;
        levels.push_back(id.get<std::int64_t>());
      }
      f.levels = std::move(levels);
    } else if (key != "credentials" && key != "created_at" && key != "updated_at" && key != "enrolled_at" &&
               key != "has_password") {
      return problem = "unknown field " + p::text::quoted(key), std::nullopt;
    }
  }
  if (lost) {
    if (!f.cards) return problem = "lost_cards: give cards too (the whole list)", std::nullopt;
    for (const auto& number : *lost) {
      auto it = std::find_if(f.cards->begin(), f.cards->end(), [&](const auto& c) { return c.number == number; });
      if (it == f.cards->end()) return problem = "lost_cards: " + number + " is not in cards", std::nullopt;
      it->lost = true;
    }
  }
  return f;
}

Json job_json(const service::JobStatus& job) {
  Json j;
  j["id"] = job.id;
  j["kind"] = job.kind;
  j["state"] = job.state;
  j["total"] = job.total;
  j["processed"] = job.processed;
  j["created"] = job.created;
  j["updated"] = job.updated;
  j["failed"] = job.failed;
  Json errors = Json::array();
  for (const auto& e : job.errors) errors.push_back(Json{{"row", e.row}, {"pin", e.key}, {"error", e.error}});
  j["errors"] = std::move(errors);
  j["error"] = nullable_text(job.error);
  j["started_at"] = job.started_at;
  j["finished_at"] = job.finished_at == 0 ? Json(nullptr) : Json(job.finished_at);
  return j;
}

// RFC 4180 CSV: fields separated by commas, optionally quoted ("" inside quotes is a quote), rows by
// LF or CRLF. A quote left open is an error.
std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view text, std::string& problem) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, was_quoted = false;
  auto end_field = [&] {
    row.push_back(was_quoted ? field : std::string(p::text::trim(field)));
    field.clear();
    was_quoted = false;
  };
  auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && p::text::trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      end_row();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) {
    problem = "CSV: a quoted field is not closed";
    return std::nullopt;
  }
  if (!field.empty() || !row.empty()) end_row();
  return rows;
}

// The rows of POST /persons/import: a JSON array of persons (or {"persons": [...]}), or CSV with a
// header naming the columns (pin, name, cards, lost_cards, access_levels, privilege, group,
// password, valid_from, valid_until, disabled; lists separated by ';').
std::optional<std::vector<service::ImportRow>> import_rows(const http::Request& request, std::string& problem) {
  std::vector<service::ImportRow> out;
  const std::string& body = request.body();
  const auto type = p::text::to_lower(request.header("Content-Type"));
  const auto first = body.find_first_not_of(" \t\r\n");
  const bool json_body = type.find("json") != std::string::npos ||
                         (type.find("csv") == std::string::npos && first != std::string::npos &&
                          (body[first] == '[' || body[first] == '{'));
  if (json_body) {
    auto j = Json::parse(body, nullptr, false);
    if (j.is_discarded()) return problem = "malformed JSON body", std::nullopt;
    if (j.is_object() && j.contains("persons")) j = j["persons"];
    if (!j.is_array()) return problem = "expected a JSON array of persons (or {\"persons\": [...]})", std::nullopt;
    std::int64_t n = 0;
    for (const auto& item : j) {
      service::ImportRow row;
      row.row = ++n;
      if (!item.is_object()) {
        row.problem = "not a JSON object";
      } else {
        if (item.contains("pin")) {
          if (item["pin"].is_string()) row.pin = item["pin"].get<std::string>();
          else if (item["pin"].is_number_unsigned()) row.pin = std::to_string(item["pin"].get<std::uint64_t>());
        }
        std::string why;
        if (auto fields = parse_person(item, why)) row.fields = std::move(*fields);
        else row.problem = why;
      }
      out.push_back(std::move(row));
    }
    return out;
  }
  auto table = parse_csv(body, problem);
  if (!table) return std::nullopt;
  if (table->empty()) return problem = "CSV: no header", std::nullopt;
  const auto& header = table->front();
  static const std::set<std::string> kColumns{"pin", "name", "cards", "lost_cards", "access_levels", "privilege",
                                              "group", "password", "valid_from", "valid_until", "disabled"};
  std::vector<std::string> columns;
  for (const auto& h : header) {
    const auto name = p::text::to_lower(p::text::trim(h));
    if (!kColumns.count(name)) return problem = "CSV: unknown column " + p::text::quoted(h), std::nullopt;
    columns.push_back(name);
  }
  if (std::find(columns.begin(), columns.end(), "pin") == columns.end()) return problem = "CSV: no pin column", std::nullopt;
  auto list = [](const std::string& text) {
    Json items = Json::array();
    std::size_t start = 0;
    while (start <= text.size()) {
      const auto end = std::min(text.find(';', start), text.size());
      const auto item = std::string(p::text::trim(std::string_view(text).substr(start, end - start)));
      if (!item.empty()) items.push_back(item);
      start = end + 1;
    }
    return items;
  };
  for (std::size_t r = 1; r < table->size(); ++r) {
    const auto& cells = (*table)[r];
    service::ImportRow row;
    row.row = static_cast<std::int64_t>(r);
    if (cells.size() > columns.size()) {
      row.problem = "more fields than columns";
      out.push_back(std::move(row));
      continue;
    }
    Json item = Json::object();
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const auto& name = columns[c];
      const auto& cell = cells[c];
      if (name == "pin") {
        row.pin = cell;
      } else if (name == "cards" || name == "lost_cards") {
        item[name] = list(cell);
      } else if (name == "access_levels") {
        Json ids = Json::array();
        for (const auto& id : list(cell)) {
          auto n = p::text::parse_int(id.get<std::string>());
          if (!n) {
            row.problem = "access_levels: " + p::text::quoted(id.get<std::string>()) + " is not an id";
            break;
          }
          ids.push_back(*n);
        }
        item[name] = std::move(ids);
      } else if (name == "privilege" || name == "group") {
        if (cell.empty()) continue;
        auto n = p::text::parse_int(cell);
        if (!n) row.problem = name + ": " + p::text::quoted(cell) + " is not a number";
        else item[name] = *n;
      } else if (name == "disabled") {
        if (cell.empty()) continue;
        item[name] = cell == "1" || p::text::iequals(cell, "true") || p::text::iequals(cell, "yes");
      } else {
        item[name] = cell;
      }
    }
    if (row.problem.empty()) {
      if (item.contains("lost_cards") && !item.contains("cards")) item.erase("lost_cards");
      std::string why;
      if (auto fields = parse_person(item, why)) row.fields = std::move(*fields);
      else row.problem = why;
    }
    out.push_back(std::move(row));
  }
  return out;
}

template <class T, class Shape>
auto reply(const Call& call, int status, Shape shape) {
  return [respond = call.respond, who = call.who, status, shape](storage::StoreResult<T> r) {
    if (!r.ok()) return answer_store_refusal(respond, who, r.error());
    answer_json(respond, status, shape(r.value()));
  };
}

Json door_json(const storage::DoorSettings& d) {
  auto settings = Json::parse(d.settings, nullptr, false);
  Json j{{"sn", d.sn}, {"door", d.door}, {"name", d.name}};
  j["settings"] = settings.is_object() ? settings : Json::object();
  return j;
}

int option_count(const storage::Device& device, std::string_view key) {
  auto n = p::text::parse_int(p::text::trim(p::option_value(device.options, key).value_or("")));
  return n && *n > 0 ? static_cast<int>(*n) : 0;
}

// A panel's doors: 1..LockCount as it registered, any door a level or a setting names besides,
// with their names and settings; its readers and auxiliary inputs and outputs as it counts them.
Json panel_doors_json(storage::Reads& r, const std::string& sn) {
  const auto device = r.devices().get(sn);
  std::map<int, storage::DoorSettings> doors;
  const int lock_count = device ? option_count(*device, "LockCount") : 0;
  for (int d = 1; d <= lock_count; ++d) doors[d] = storage::DoorSettings{sn, d, "", "{}", 0};
  for (const auto& level : r.access().levels_on(sn))
    for (const auto& d : level.doors)
      if (d.sn == sn && !doors.count(d.door)) doors[d.door] = storage::DoorSettings{sn, d.door, "", "{}", 0};
  storage::DoorSettings panel{sn, 0, "", "{}", 0};
  for (auto& d : r.access().door_settings(sn)) {
    if (d.door == 0) panel = d;
    else doors[d.door] = d;
  }
  Json j{{"sn", sn}, {"registered", device.has_value()}};
  j["lock_count"] = lock_count;
  j["reader_count"] = device ? option_count(*device, "ReaderCount") : 0;
  j["aux_in_count"] = device ? option_count(*device, "AuxInCount") : 0;
  j["aux_out_count"] = device ? option_count(*device, "AuxOutCount") : 0;
  j["settings"] = door_json(panel)["settings"];
  Json list = Json::array();
  for (const auto& [n, d] : doors) {
    auto door = door_json(d);
    Json levels = Json::array();
    for (const auto& level : r.access().levels_on(sn))
      for (const auto& ld : level.doors)
        if (ld.sn == sn && ld.door == n) levels.push_back(level.id);
    door["access_levels"] = std::move(levels);
    list.push_back(std::move(door));
  }
  j["doors"] = std::move(list);
  return j;
}

}  // namespace

// ---- global anti-passback zones -----------------------------------------------------------------------

Json zone_json(const storage::ApbZone& z) {
  Json doors = Json::array();
  for (const auto& d : z.doors) doors.push_back(Json{{"sn", d.sn}, {"door", d.door}, {"direction", d.direction}});
  Json j{{"id", z.id}, {"name", z.name}, {"mode", z.mode}, {"minutes", z.mode == "timed" ? Json(z.minutes) : Json(nullptr)}};
  j["doors"] = std::move(doors);
  return j;
}

Json presence_json(const storage::ApbPresence& p) {
  auto at = [](std::int64_t t) { return t > 0 ? Json(t) : Json(nullptr); };
  Json j = Json::object();
  j["pin"] = p.pin;
  j["inside"] = p.inside;
  j["entered_at"] = at(p.entered_at);
  j["exited_at"] = at(p.exited_at);
  return j;
}

// The fields of a zone given in `body` applied to `zone` (the service checks the whole).
bool apply_zone_fields(const Json& body, storage::ApbZone& zone, std::string& problem) {
  if (body.contains("name")) {
    if (!body["name"].is_string()) return (problem = "name: a text", false);
    zone.name = body["name"].get<std::string>();
  }
  if (body.contains("mode")) {
    if (!body["mode"].is_string()) return (problem = "mode: logical or timed", false);
    zone.mode = body["mode"].get<std::string>();
  }
  if (body.contains("minutes")) {
    if (!body["minutes"].is_number_integer()) return (problem = "minutes: a whole number", false);
    zone.minutes = body["minutes"].get<int>();
  }
  if (body.contains("doors")) {
    if (!body["doors"].is_array()) return (problem = "doors: a list of {sn, door, direction}", false);
    zone.doors.clear();
    for (const auto& d : body["doors"]) {
      if (!d.is_object() || !d.contains("sn") || !d["sn"].is_string() || !d.contains("door") || !d["door"].is_number_integer() ||
          !d.contains("direction") || !d["direction"].is_string())
        return (problem = "doors: each {\"sn\", \"door\", \"direction\": \"in\" | \"out\" | \"reader\"}", false);
      zone.doors.push_back(storage::ApbZoneDoor{d["sn"].get<std::string>(), d["door"].get<int>(), d["direction"].get<std::string>()});
    }
  }
  return true;
}

std::optional<Json> zone_body(const std::string& body, std::string& problem) {
  return object_body(body, problem, {"name", "mode", "minutes", "doors"});
}

void add_zone_routes(RouteTable& table, const ApiServices& s) {
  using V = http::Verb;
  table.add({V::get, "/api/v1/apb-zones", Role::viewer, "listApbZones", "Every global anti-passback zone", "",
             "200 ApbZone[]", {}, [s](Call& c) {
               read_json(s, c, [](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& z : r.access().apb_zones()) out.push_back(zone_json(z));
                 return out;
               });
             }});
  table.add({V::post, "/api/v1/apb-zones", Role::operator_, "createApbZone",
             "Creates a global anti-passback zone: doors on any panels, each an entry (in) or an exit (out)",
             "NewApbZone", "201 ApbZone", {}, [s](Call& c) {
               std::string problem;
               auto body = zone_body(c.request.body(), problem);
               storage::ApbZone zone;
               if (!body || !apply_zone_fields(*body, zone, problem)) return answer_error(c.respond, c.who, 400, problem);
               s.access.create_zone(std::move(zone), reply<storage::ApbZone>(c, 201, zone_json));
             }});
  table.add({V::get, "/api/v1/apb-zones/{id}", Role::viewer, "getApbZone", "One anti-passback zone", "", "200 ApbZone", {},
             [s](Call& c) {
               auto id = path_id(c, "an anti-passback zone");
               if (!id) return;
               s.store.read([id = *id](storage::Reads& r) { return r.access().apb_zone(id); },
                            [id = *id, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::ApbZone>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no anti-passback zone " + std::to_string(id));
                              answer_json(respond, 200, zone_json(*r.value()));
                            });
             }});
  table.add({V::patch, "/api/v1/apb-zones/{id}", Role::operator_, "updateApbZone",
             "Changes the name, mode, minutes or doors (the whole list) of a zone; where persons stand is kept",
             "NewApbZone", "200 ApbZone", {}, [s](Call& c) {
               auto id = path_id(c, "an anti-passback zone");
               if (!id) return;
               std::string problem;
               auto body = zone_body(c.request.body(), problem);
               storage::ApbZone probe;
               if (!body || !apply_zone_fields(*body, probe, problem)) return answer_error(c.respond, c.who, 400, problem);
               s.access.update_zone(*id, [body = *body](storage::ApbZone& zone) {
                 std::string ignored;
                 apply_zone_fields(body, zone, ignored);
               }, reply<storage::ApbZone>(c, 200, zone_json));
             }});
  table.add({V::delete_, "/api/v1/apb-zones/{id}", Role::operator_, "deleteApbZone",
             "Deletes a zone and where persons stand in it", "", "200 Deleted", {}, [s](Call& c) {
               auto id = path_id(c, "an anti-passback zone");
               if (!id) return;
               s.access.delete_zone(*id, reply<storage::Unit>(c, 200, [id = *id](const storage::Unit&) {
                                      return Json{{"id", id}, {"deleted", true}};
                                    }));
             }});
  table.add({V::get, "/api/v1/apb-zones/{id}/presence", Role::viewer, "listApbPresence",
             "Where each person seen at the zone's doors stands: inside or not, when they last entered and left",
             "", "200 ApbPresence[]", {}, [s](Call& c) {
               auto id = path_id(c, "an anti-passback zone");
               if (!id) return;
               s.store.read(
                   [id = *id](storage::Reads& r) {
                     std::optional<std::vector<storage::ApbPresence>> out;
                     if (r.access().apb_zone(id)) out = r.access().apb_presences(id);
                     return out;
                   },
                   [id = *id, respond = c.respond, who = c.who](storage::StoreResult<std::optional<std::vector<storage::ApbPresence>>> r) {
                     if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                     if (!r.value()) return answer_error(respond, who, 404, "no anti-passback zone " + std::to_string(id));
                     Json out = Json::array();
                     for (const auto& p : *r.value()) out.push_back(presence_json(p));
                     answer_json(respond, 200, out);
                   });
             }});
  table.add({V::post, "/api/v1/apb-zones/{id}/reset", Role::operator_, "resetApbZone",
             "Forgets where persons stand in the zone: {\"pin\": \"55\"} one person, no body everyone",
             "ApbReset", "200 ApbResetDone", {}, [s](Call& c) {
               auto id = path_id(c, "an anti-passback zone");
               if (!id) return;
               std::string pin;
               if (!c.request.body().empty()) {
                 std::string problem;
                 auto body = object_body(c.request.body(), problem, {"pin"});
                 if (!body) return answer_error(c.respond, c.who, 400, problem);
                 if (body->contains("pin")) {
                   if (!(*body)["pin"].is_string() || (*body)["pin"].get<std::string>().empty())
                     return answer_error(c.respond, c.who, 400, "pin: the person's pin");
                   pin = (*body)["pin"].get<std::string>();
                 }
               }
               s.access.reset_zone(*id, pin, reply<std::int64_t>(c, 200, [id = *id, pin](const std::int64_t& n) {
                                     return Json{{"id", id}, {"pin", pin.empty() ? Json(nullptr) : Json(pin)}, {"reset", n}};
                                   }));
             }});
}

// ---- remote enrolment (9.6.1 ENROLL_INFO: a card; 9.6.2 ENROLL_BIO: a template) -------------------------

struct EnrolRequest {
  std::string sn;
  std::string type = "fingerprint";
  int bio_type = 1;
  int no = 0;
  int retry = 3;
  bool overwrite = true;
};

std::optional<EnrolRequest> parse_enrol(const std::string& text, std::string& problem) {
  auto body = object_body(text, problem, {"sn", "type", "finger", "no", "retry", "overwrite"});
  if (!body) return std::nullopt;
  EnrolRequest e;
  if (!body->contains("sn") || !(*body)["sn"].is_string() || (*body)["sn"].get<std::string>().empty()) {
    problem = "sn: the serial number of the panel to enrol at";
    return std::nullopt;
  }
  e.sn = (*body)["sn"].get<std::string>();
  if (body->contains("type")) {
    const auto& t = (*body)["type"];
    auto code = t.is_string() ? service::bio_type_of(t.get<std::string>()) : std::nullopt;
    if (t.is_string() && t.get<std::string>() == "card") {
      e.type = "card";  // ENROLL_INFO TYPE=0: the card the person presents at the panel
    } else if (!code || t.get<std::string>() == "general") {
      problem = "type: card, fingerprint, face, palm, finger_vein, iris, voiceprint, retina or palmprint";
      return std::nullopt;
    } else {
      e.type = t.get<std::string>();
      e.bio_type = *code;
    }
  }
  auto integer = [&](const char* key, int lo, int hi, int& out) {
    if (!body->contains(key)) return true;
    const auto& v = (*body)[key];
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
      problem = std::string(key) + ": a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
      return false;
    }
    out = v.get<int>();
    return true;
  };
  if (e.type == "fingerprint") {
    if (!body->contains("finger")) {
      problem = "finger: which finger to enrol, 0-9";
      return std::nullopt;
    }
    if (!integer("finger", 0, 9, e.no)) return std::nullopt;
  } else if (body->contains("finger")) {
    problem = "finger: for a fingerprint only (the instance of another type is \"no\")";
    return std::nullopt;
  }
  if (e.type == "card" && (body->contains("no") || body->contains("overwrite"))) {
    problem = "no, overwrite: not for a card (ENROLL_INFO has neither)";
    return std::nullopt;
  }
  if (!integer("no", 0, 9, e.no) || !integer("retry", 1, 10, e.retry)) return std::nullopt;
  if (body->contains("overwrite")) {
    if (!(*body)["overwrite"].is_boolean()) {
      problem = "overwrite: true or false";
      return std::nullopt;
    }
    e.overwrite = (*body)["overwrite"].get<bool>();
  }
  return e;
}

// The person's user row as a DATA UPDATE line (a panel enrols a template only for a user it holds).
p::Result<p::Command> user_row_command(const storage::Person& person) {
  std::string card;
  for (const auto& c : person.cards)
    if (!c.lost) {
      card = c.number;
      break;
    }
  return p::data_update(0, "user",
                        p::Record{{"CardNo", card}, {"Pin", person.pin}, {"Password", person.password},
                                  {"Group", std::to_string(person.group)}, {"StartTime", "0"}, {"EndTime", "0"},
                                  {"Name", person.name}, {"Privilege", std::to_string(person.privilege)}});
}

std::string line_of(const p::Command& command) {
  const auto text = p::format_command(command);
  return text.substr(text.find(':', 2) + 1);  // without "C:0:"
}

// Queues `lines` for `sn` one after the other (each after the previous one's commit); `done` gets
// the commands' JSON, or the first refusal.
void enqueue_in_order(service::CommandQueue& queue, const std::string& sn, std::vector<std::string> lines,
                      std::shared_ptr<Json> queued, std::function<void(storage::StoreResult<Json>)> done,
                      std::size_t i = 0) {
  if (i == lines.size()) return done(std::move(*queued));
  service::EnqueueRequest q;
  q.sn = sn;
  q.line = lines[i];
  queue.enqueue(q, [&queue, sn, lines = std::move(lines), queued, done = std::move(done), i](
                       storage::StoreResult<storage::CommandRow> row) mutable {
    if (!row.ok()) return done(row.error());
    queued->push_back(command_json(row.value(), {}));
    enqueue_in_order(queue, sn, std::move(lines), queued, std::move(done), i + 1);
  });
}

void enrol(const ApiServices& s, const Call& call) {
  std::string problem;
  auto request = parse_enrol(call.request.body(), problem);
  if (!request) return answer_error(call.respond, call.who, 400, problem);
  if (!s.devices.get(request->sn)) return answer_error(call.respond, call.who, 404, "unknown device " + p::text::quoted(request->sn));
  const std::string pin = call.params[0];
  struct Found {
    std::optional<storage::Person> person;
    bool held = false;  // the panel holds the person's user row (as far as the sync engine knows)
  };
  s.store.read(
      [pin, sn = request->sn](storage::Reads& r) {
        Found f;
        f.person = r.access().person(pin);
        for (const auto& item : r.sync().items_on_panels("person", pin))
          if (item.id.sn == sn && item.applied) f.held = true;
        return f;
      },
      [s, e = *request, pin, respond = call.respond, who = call.who](storage::StoreResult<Found> r) {
        if (!r.ok()) return answer_store_refusal(respond, who, r.error());
        if (!r->person) return answer_error(respond, who, 404, "no person with pin " + p::text::quoted(pin));
        // MODE=1: the panel keeps what it enrolled as well as uploading it.
        auto enroll = e.type == "card" ? p::enroll_info(0, pin, static_cast<unsigned>(e.retry), 1, 0)
                                       : p::enroll_bio(0, static_cast<unsigned>(e.bio_type), static_cast<unsigned>(e.no),
                                                       pin, static_cast<unsigned>(e.retry), e.overwrite, 1);
        if (!enroll) return answer_error(respond, who, 400, enroll.error().to_string());
        std::vector<std::string> lines;
        if (!r->held) {
          auto user = user_row_command(*r->person);
          if (!user) return answer_error(respond, who, 400, "the person's user row: " + user.error().to_string());
          lines.push_back(line_of(*user));
        }
        lines.push_back(line_of(*enroll));
        // In order: the user row (when the panel does not hold it), then the enrolment; each queued
        // after the previous one's commit, so the panel receives them in that order.
        enqueue_in_order(s.queue, e.sn, std::move(lines), std::make_shared<Json>(Json::array()),
                         [e, pin, respond, who](storage::StoreResult<Json> queued) {
                           if (!queued.ok()) return answer_store_refusal(respond, who, queued.error());
                           spdlog::info("{}: enrolment of {} {} of person {} queued", e.sn, e.type, e.no, pin);
                           Json out = Json::object();
                           out["pin"] = pin;
                           out["sn"] = e.sn;
                           out["type"] = e.type;
                           if (e.type == "fingerprint") out["finger"] = e.no;
                           else if (e.type != "card") out["no"] = e.no;
                           out["command"] = queued->back();
                           out["commands"] = std::move(queued.value());
                           answer_json(respond, 202, out);
                         });
      });
}

void add_access_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices s = services;

  // ---- persons ----
  table.add({V::get, "/api/v1/persons", Role::viewer, "listPersons", "Persons by pin, `limit` (default 100, at most 1000) after `after`",
             "", "200 Person[]", {{"after", "string", "the last pin of the previous page"}, {"limit", "integer", "1-1000"}},
             [s](Call& c) {
               auto target = p::parse_target(c.request.target());
               std::string after(target.query.get_or("after", ""));
               const auto given = limit_param(c);
               if (!given) return;
               const std::int64_t limit = *given;
               read_json(s, c, [after, limit](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& person : r.access().persons(after, limit)) out.push_back(person_json(person));
                 return out;
               });
             }});
  table.add({V::post, "/api/v1/persons", Role::operator_, "createPerson",
             "Creates a person (409 for a pin or card that exists); the panels of its levels are synced", "NewPerson",
             "201 Person", {}, [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               std::string pin;
               if (body->contains("pin")) {
                 const auto& v = (*body)["pin"];
                 if (v.is_string()) pin = v.get<std::string>();
                 else if (v.is_number_unsigned()) pin = std::to_string(v.get<std::uint64_t>());
               }
               if (auto e = service::check_pin(pin); !e.empty()) return answer_error(c.respond, c.who, 400, e);
               auto fields = parse_person(*body, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.create_person(pin, *fields, [respond = c.respond, who = c.who](storage::StoreResult<storage::Person> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 spdlog::info("person {} created through the API", r->pin);
                 answer_json(respond, 201, person_json(r.value()));
               });
             }});
  table.add({V::get, "/api/v1/persons/{pin}", Role::viewer, "getPerson", "One person with cards, levels and credentials",
             "", "200 Person", {}, [s](Call& c) {
               const auto pin = c.params[0];
               s.store.read([pin](storage::Reads& r) { return r.access().person(pin); },
                            [pin, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::Person>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no person with pin " + p::text::quoted(pin));
                              answer_json(respond, 200, person_json(*r.value()));
                            });
             }});
  table.add({V::post, "/api/v1/persons/{pin}/enroll", Role::operator_, "enrollPerson",
             "Enrols a card (ENROLL_INFO) or a fingerprint (face, palm... ENROLL_BIO) of the person at a panel: the "
             "person's user row first if the panel does not hold it, then the enrolment; the card or templates the "
             "panel uploads become the person's, sent to the person's other panels",
             "Enrolment", "202 EnrolmentQueued", {}, [s](Call& c) { enrol(s, c); }});
  table.add({V::get, "/api/v1/persons/{pin}/photo", Role::viewer, "getPersonPhoto",
             "The person's user photo (the credential of type photo) as an image, type by its bytes", "",
             "200 Content", {}, [s](Call& c) {
               const auto pin = c.params[0];
               s.store.read([pin](storage::Reads& r) { return r.access().person(pin); },
                            [pin, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::Person>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no person with pin " + p::text::quoted(pin));
                              for (const auto& credential : r.value()->credentials) {
                                if (credential.type != "photo") continue;
                                // Stored as base64, as uploaded or posted (checked then).
                                auto bytes = p::base64_decode(credential.content);
                                if (!bytes) break;
                                const auto type = image_type(*bytes);
                                return (*respond)(http::make_response(http::Status::ok, std::move(*bytes), type));
                              }
                              answer_error(respond, who, 404, "person " + p::text::quoted(pin) + " has no photo");
                            });
             }});
  table.add({V::patch, "/api/v1/persons/{pin}", Role::operator_, "updatePerson",
             "Changes the given fields (cards and access_levels replace the lists)", "PersonPatch", "200 Person", {},
             [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_person(*body, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.update_person(c.params[0], *fields, reply<storage::Person>(c, 200, person_json));
             }});
  table.add({V::delete_, "/api/v1/persons/{pin}", Role::operator_, "deletePerson",
             "Deletes the person; the panels that hold it are told", "", "200 Deleted", {}, [s](Call& c) {
               const auto pin = c.params[0];
               s.access.delete_person(pin, reply<storage::Unit>(c, 200, [pin](const storage::Unit&) {
                                        return Json{{"pin", pin}, {"deleted", true}};
                                      }));
             }});

  table.add({V::get, "/api/v1/persons/{pin}/sync", Role::viewer, "getPersonSync",
             "Where the person stands on each panel that should hold it, holds it or is dropping it: the sync "
             "engine's state (pending, sending, applied, failed), the panel's refusal, attempts",
             "", "200 PersonSync[]", {}, [s](Call& c) {
               const auto pin = c.params[0];
               s.sync.person_status(pin, [pin, respond = c.respond, who = c.who](
                                             storage::StoreResult<std::optional<std::vector<storage::SyncItem>>> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 if (!r.value()) return answer_error(respond, who, 404, "no person with pin " + p::text::quoted(pin));
                 answer_json(respond, 200, person_sync_json(*r.value()));
               });
             }});

  table.add({V::post, "/api/v1/persons/{pin}/credentials", Role::operator_, "putCredential",
             "Adds a fingerprint, biodata template or photo to a person (one of the same type, finger and index "
             "is replaced); the person's panels get it in the form each supports",
             "NewCredential", "201 Person", {}, [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto credential = parse_credential(*body, problem);
               if (!credential) return answer_error(c.respond, c.who, 400, problem);
               const auto pin = c.params[0];
               s.access.put_credential(pin, *credential, [pin, respond = c.respond, who = c.who](storage::StoreResult<storage::Person> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 spdlog::info("credential of person {} stored through the API", pin);
                 answer_json(respond, 201, person_json(r.value()));
               });
             }});
  table.add({V::delete_, "/api/v1/persons/{pin}/credentials/{id}", Role::operator_, "deleteCredential",
             "Removes one of a person's credentials; its panels are told", "", "200 Person", {}, [s](Call& c) {
               auto id = path_id(c, "a credential", 1);
               if (!id) return;
               s.access.delete_credential(c.params[0], *id, reply<storage::Person>(c, 200, person_json));
             }});
  table.add({V::post, "/api/v1/persons/import", Role::operator_, "importPersons",
             "Creates or updates many persons (JSON array or CSV) as a job; 202 with the job", "PersonImport",
             "202 Job", {}, [s](Call& c) {
               std::string problem;
               auto rows = import_rows(c.request, problem);
               if (!rows) return answer_error(c.respond, c.who, 400, problem);
               const auto n = rows->size();
               const auto id = s.access.import_persons(std::move(*rows));
               spdlog::info("person import job {} started through the API: {} row(s)", id, n);
               auto job = s.access.jobs().get(id);
               answer_json(c.respond, 202, job ? job_json(*job) : Json{{"id", id}});
             }});
  table.add({V::get, "/api/v1/jobs/{id}", Role::viewer, "getJob", "A job's progress and per-row errors", "", "200 Job",
             {}, [s](Call& c) {
               auto id = path_id(c, "a job");
               if (!id) return;
               auto job = s.access.jobs().get(*id);
               if (!job) return answer_error(c.respond, c.who, 404, "no job " + std::to_string(*id));
               answer_json(c.respond, 200, job_json(*job));
             }});

  // ---- time rules ----
  table.add({V::get, "/api/v1/time-rules", Role::viewer, "listTimeRules", "Every time rule (1 = always)", "",
             "200 TimeRule[]", {}, [s](Call& c) {
               read_json(s, c, [](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& rule : r.access().time_rules()) out.push_back(rule_json(rule));
                 return out;
               });
             }});
  table.add({V::post, "/api/v1/time-rules", Role::operator_, "createTimeRule",
             "Creates a time rule: up to three periods per weekday and holiday type", "NewTimeRule", "201 TimeRule", {},
             [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_rule(*body, true, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.create_rule(*fields, reply<storage::TimeRule>(c, 201, rule_json));
             }});
  table.add({V::get, "/api/v1/time-rules/{id}", Role::viewer, "getTimeRule", "One time rule", "", "200 TimeRule", {},
             [s](Call& c) {
               auto id = path_id(c, "a time rule");
               if (!id) return;
               s.store.read([id = *id](storage::Reads& r) { return r.access().time_rule(id); },
                            [id = *id, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::TimeRule>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no time rule " + std::to_string(id));
                              answer_json(respond, 200, rule_json(*r.value()));
                            });
             }});
  table.add({V::patch, "/api/v1/time-rules/{id}", Role::operator_, "updateTimeRule",
             "Changes the name or the segments (all of them); panels using it are synced", "NewTimeRule", "200 TimeRule",
             {}, [s](Call& c) {
               auto id = path_id(c, "a time rule");
               if (!id) return;
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_rule(*body, false, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.update_rule(*id, *fields, reply<storage::TimeRule>(c, 200, rule_json));
             }});
  table.add({V::delete_, "/api/v1/time-rules/{id}", Role::operator_, "deleteTimeRule",
             "Deletes a time rule no level uses (409 otherwise, and for rule 1)", "", "200 Deleted", {}, [s](Call& c) {
               auto id = path_id(c, "a time rule");
               if (!id) return;
               s.access.delete_rule(*id, reply<storage::Unit>(c, 200, [id = *id](const storage::Unit&) {
                                      return Json{{"id", id}, {"deleted", true}};
                                    }));
             }});

  // ---- holidays ----
  table.add({V::get, "/api/v1/holidays", Role::viewer, "listHolidays", "Every holiday", "", "200 Holiday[]", {},
             [s](Call& c) {
               read_json(s, c, [](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& h : r.access().holidays()) out.push_back(holiday_json(h));
                 return out;
               });
             }});
  table.add({V::post, "/api/v1/holidays", Role::operator_, "createHoliday",
             "Creates a holiday (a date or a range, type 1-3, yearly or not); every panel of the domain is synced",
             "NewHoliday", "201 Holiday", {}, [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_holiday(*body, true, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.create_holiday(*fields, reply<storage::Holiday>(c, 201, holiday_json));
             }});
  table.add({V::get, "/api/v1/holidays/{id}", Role::viewer, "getHoliday", "One holiday", "", "200 Holiday", {},
             [s](Call& c) {
               auto id = path_id(c, "a holiday");
               if (!id) return;
               s.store.read([id = *id](storage::Reads& r) { return r.access().holiday(id); },
                            [id = *id, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::Holiday>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no holiday " + std::to_string(id));
                              answer_json(respond, 200, holiday_json(*r.value()));
                            });
             }});
  table.add({V::patch, "/api/v1/holidays/{id}", Role::operator_, "updateHoliday",
             "Changes a holiday; every panel of the domain is synced", "NewHoliday", "200 Holiday", {}, [s](Call& c) {
               auto id = path_id(c, "a holiday");
               if (!id) return;
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_holiday(*body, false, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.update_holiday(*id, *fields, reply<storage::Holiday>(c, 200, holiday_json));
             }});
  table.add({V::delete_, "/api/v1/holidays/{id}", Role::operator_, "deleteHoliday",
             "Deletes a holiday; every panel of the domain is synced", "", "200 Deleted", {}, [s](Call& c) {
               auto id = path_id(c, "a holiday");
               if (!id) return;
               s.access.delete_holiday(*id, reply<storage::Unit>(c, 200, [id = *id](const storage::Unit&) {
                                         return Json{{"id", id}, {"deleted", true}};
                                       }));
             }});

  add_zone_routes(table, s);

  // ---- access levels ----
  table.add({V::get, "/api/v1/access-levels", Role::viewer, "listAccessLevels", "Every access level", "",
             "200 AccessLevel[]", {}, [s](Call& c) {
               read_json(s, c, [](storage::Reads& r) {
                 Json out = Json::array();
                 for (const auto& level : r.access().levels()) out.push_back(level_json(level));
                 return out;
               });
             }});
  table.add({V::post, "/api/v1/access-levels", Role::operator_, "createAccessLevel",
             "Creates an access level: doors on any panels x one time rule", "NewAccessLevel", "201 AccessLevel", {},
             [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_level(*body, true, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.create_level(*fields, reply<storage::AccessLevel>(c, 201, level_json));
             }});
  table.add({V::get, "/api/v1/access-levels/{id}", Role::viewer, "getAccessLevel", "One access level", "",
             "200 AccessLevel", {}, [s](Call& c) {
               auto id = path_id(c, "an access level");
               if (!id) return;
               s.store.read([id = *id](storage::Reads& r) { return r.access().level(id); },
                            [id = *id, respond = c.respond, who = c.who](storage::StoreResult<std::optional<storage::AccessLevel>> r) {
                              if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                              if (!r.value()) return answer_error(respond, who, 404, "no access level " + std::to_string(id));
                              answer_json(respond, 200, level_json(*r.value()));
                            });
             }});
  table.add({V::patch, "/api/v1/access-levels/{id}", Role::operator_, "updateAccessLevel",
             "Changes the name, time rule or doors (the whole list); the panels concerned are synced", "NewAccessLevel",
             "200 AccessLevel", {}, [s](Call& c) {
               auto id = path_id(c, "an access level");
               if (!id) return;
               std::string problem;
               auto body = object_body(c.request.body(), problem);
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               auto fields = parse_level(*body, false, problem);
               if (!fields) return answer_error(c.respond, c.who, 400, problem);
               s.access.update_level(*id, *fields, reply<storage::AccessLevel>(c, 200, level_json));
             }});
  table.add({V::delete_, "/api/v1/access-levels/{id}", Role::operator_, "deleteAccessLevel",
             "Deletes an access level; its holders lose it on its panels", "", "200 Deleted", {}, [s](Call& c) {
               auto id = path_id(c, "an access level");
               if (!id) return;
               s.access.delete_level(*id, reply<storage::Unit>(c, 200, [id = *id](const storage::Unit&) {
                                       return Json{{"id", id}, {"deleted", true}};
                                     }));
             }});

  // ---- sync ----
  // ---- doors ----
  table.add({V::get, "/api/v1/doors", Role::viewer, "listDoors",
             "Every door of every panel (registered ones by their LockCount, others as levels name them)", "",
             "200 PanelDoors[]", {}, [s](Call& c) {
               read_json(s, c, [](storage::Reads& r) {
                 std::set<std::string> panels;
                 for (const auto& d : r.devices().all()) panels.insert(d.sn);
                 for (const auto& sn : r.access().panels()) panels.insert(sn);
                 for (const auto& d : r.access().door_settings("")) panels.insert(d.sn);
                 Json out = Json::array();
                 for (const auto& sn : panels) out.push_back(panel_doors_json(r, sn));
                 return out;
               });
             }});
  table.add({V::get, "/api/v1/devices/{sn}/doors", Role::viewer, "getDeviceDoors",
             "The panel's doors with names, settings and levels; its reader and aux counts; its own settings", "",
             "200 PanelDoors", {}, [s](Call& c) {
               const auto sn = c.params[0];
               read_json(s, c, [sn](storage::Reads& r) { return panel_doors_json(r, sn); });
             }});
  table.add({V::patch, "/api/v1/devices/{sn}/doors/{door}", Role::operator_, "updateDoor",
             "Names a door and sets its parameters (drive time, sensor, verify mode, normal-open and active "
             "time rules, passwords, first-card, multi-card, in/out anti-passback; null unsets one); the panel "
             "gets them with SET OPTIONS; first_card_persons and multi_card_groups go to its firstcard and "
             "multimcard tables",
             "DoorPatch", "200 Door", {}, [s](Call& c) {
               auto door = path_id(c, "a door", 1);
               if (!door) return;
               if (*door > 64) return answer_error(c.respond, c.who, 404, "doors are numbered 1 to 64");
               s.access.set_door(c.params[0], static_cast<int>(*door), std::string(c.request.body()),
                                 reply<storage::DoorSettings>(c, 200, door_json));
             }});
  table.add({V::patch, "/api/v1/devices/{sn}/access-settings", Role::operator_, "updatePanelAccessSettings",
             "The panel's own settings: anti_passback (Appendix 8), interlock (Appendix 9), dst (DSTOn); "
             "linkages (inoutfun) and dst_rules (DSTSetting) go to its tables; null unsets one",
             "PanelSettingsPatch", "200 Door", {}, [s](Call& c) {
               s.access.set_door(c.params[0], 0, std::string(c.request.body()), reply<storage::DoorSettings>(c, 200, door_json));
             }});

  table.add({V::get, "/api/v1/sync", Role::viewer, "listSync",
             "Every panel's sync in one read: records pending, applied and failed, DATA commands queued and in "
             "flight (each registered device, and each panel the engine has work or history for)",
             "", "200 PanelSync[]", {}, [s](Call& c) {
               s.sync.overview([s, respond = c.respond, who = c.who](
                                   storage::StoreResult<std::vector<storage::PanelSyncCounts>> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 // Known devices the engine has nothing for read as zeros, as /devices/{sn}/sync does.
                 auto panels = std::move(r.value());
                 std::set<std::string> listed;
                 for (const auto& panel : panels) listed.insert(panel.sn);
                 for (const auto& device : s.devices.all()) {
                   const auto& sn = device.device->sn;
                   if (!listed.count(sn)) panels.push_back(storage::PanelSyncCounts{sn, {}});
                 }
                 std::sort(panels.begin(), panels.end(), [](const auto& a, const auto& b) { return a.sn < b.sn; });
                 answer_json(respond, 200, panel_sync_json(panels));
               });
             }});
  table.add({V::get, "/api/v1/devices/{sn}/sync", Role::viewer, "getDeviceSync",
             "The panel's sync: records pending, applied and failed, its errors, DATA commands queued", "",
             "200 SyncStatus", {}, [s](Call& c) {
               s.sync.status(c.params[0], reply<service::SyncStatus>(c, 200, sync_json));
             }});
  table.add({V::post, "/api/v1/devices/{sn}/resync", Role::operator_, "resyncDevice",
             "Reconciles the panel now; {\"clear\": true} clears its tables first and sends all it should hold",
             "Resync", "200 SyncStatus", {}, [s](Call& c) {
               bool clear = false;
               if (!p::text::trim(c.request.body()).empty()) {
                 std::string problem;
                 auto body = object_body(c.request.body(), problem, {"clear"});
                 if (!body) return answer_error(c.respond, c.who, 400, problem);
                 if (body->contains("clear")) {
                   if (!(*body)["clear"].is_boolean()) return answer_error(c.respond, c.who, 400, "clear: true or false");
                   clear = (*body)["clear"].get<bool>();
                 }
               }
               const auto sn = c.params[0];
               if (clear && !s.devices.get(sn)) return answer_error(c.respond, c.who, 404, "unknown device " + p::text::quoted(sn));
               s.sync.resync(sn, clear, [s, sn, clear, respond = c.respond, who = c.who](storage::StoreStatus st) {
                 if (!st.ok()) return answer_store_refusal(respond, who, st.error());
                 spdlog::info("{}: resync{} requested through the API", sn, clear ? " with clear (full load)" : "");
                 s.sync.status(sn, [respond, who](storage::StoreResult<service::SyncStatus> r) {
                   if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                   answer_json(respond, 200, sync_json(r.value()));
                 });
               });
             }});
  table.add({V::post, "/api/v1/devices/{sn}/verify", Role::operator_, "verifyDevice",
             "Reads what the panel holds at its next poll (DATA QUERY user) and repairs what differs: missing "
             "records sent again, a reset panel fully loaded, unknown ones listed as unmanaged",
             "", "202 SyncStatus", {}, [s](Call& c) {
               const auto sn = c.params[0];
               if (!s.devices.get(sn)) return answer_error(c.respond, c.who, 404, "unknown device " + p::text::quoted(sn));
               s.sync.verify(sn, [s, sn, respond = c.respond, who = c.who](storage::StoreStatus st) {
                 if (!st.ok()) return answer_store_refusal(respond, who, st.error());
                 spdlog::info("{}: verification requested through the API", sn);
                 s.sync.status(sn, [respond, who](storage::StoreResult<service::SyncStatus> r) {
                   if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                   answer_json(respond, 202, sync_json(r.value()));
                 });
               });
             }});
  table.add({V::post, "/api/v1/devices/{sn}/replace", Role::operator_, "replaceDevice",
             "A replaced panel: {\"by\": \"<new serial>\"} takes over its doors, levels and sync", "Replace",
             "200 Replaced", {}, [s](Call& c) {
               std::string problem;
               auto body = object_body(c.request.body(), problem, {"by"});
               if (!body) return answer_error(c.respond, c.who, 400, problem);
               if (!body->contains("by") || !(*body)["by"].is_string() ||
                   !p::is_valid_serial_number((*body)["by"].get<std::string>()))
                 return answer_error(c.respond, c.who, 400, "expected {\"by\": \"<serial number of the new panel>\"}");
               const auto from = c.params[0];
               const auto to = (*body)["by"].get<std::string>();
               if (from == to) return answer_error(c.respond, c.who, 400, "by: the new panel's serial number differs from the old");
               s.sync.replace(from, to, reply<storage::Unit>(c, 200, [from, to](const storage::Unit&) {
                                spdlog::info("{}: replaced by {} through the API", from, to);
                                return Json{{"replaced", from}, {"by", to}};
                              }));
             }});
}

}  // namespace zkpush::front::api
