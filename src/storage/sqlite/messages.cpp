#include "storage/sqlite/messages.hpp"

#include <nlohmann/json.hpp>

#include "storage/result.hpp"
#include "storage/rows.hpp"
#include "storage/sqlite/events.hpp"

namespace zkpush::storage::sqlite {

namespace {

// The filter's kinds as the JSON array json_each reads ("[]": every kind).
std::string kinds_json(const std::vector<std::string>& kinds) { return nlohmann::json(kinds).dump(); }

}  // namespace

std::vector<Message> Messages::list(const MessageFilter& f) {
  // Two statements, so that SQLite walks the index that serves the filter.
  static const std::string kAll = rows::select_messages(
      "WHERE m.id > ?1 AND (?3 = '[]' OR m.kind IN (SELECT value FROM json_each(?3))) ORDER BY m.id LIMIT ?2");
  static const std::string kDevice = rows::select_messages(
      "WHERE m.sn = ?4 AND m.id > ?1 AND (?3 = '[]' OR m.kind IN (SELECT value FROM json_each(?3))) "
      "ORDER BY m.id LIMIT ?2");
  auto st = c_.prepare(f.sn.empty() ? kAll : kDevice);
  st->bind(1, f.after_id).bind(2, f.limit > 0 ? f.limit : std::int64_t{-1}).bind(3, kinds_json(f.kinds));
  if (!f.sn.empty()) st->bind(4, f.sn);
  std::vector<Message> out;
  while (st->step()) out.push_back(rows::read_message(*st, events::kEventRaw));
  return out;
}

std::vector<Message> Messages::get(const std::vector<std::int64_t>& ids) {
  static const std::string kByIds =
      rows::select_messages("WHERE m.id IN (SELECT value FROM json_each(?1)) ORDER BY m.id");
  auto st = c_.prepare(kByIds);
  st->bind(1, nlohmann::json(ids).dump());
  std::vector<Message> out;
  while (st->step()) out.push_back(rows::read_message(*st, events::kEventRaw));
  return out;
}

std::int64_t Messages::last_id() {
  auto st = c_.prepare("SELECT coalesce(max(id), 0) FROM messages");
  st->step();
  return st->column_int(0);
}

std::int64_t Messages::add(const std::string& kind, const std::string& sn, const std::string& body, std::int64_t at) {
  if (sn.empty()) throw Refused(StoreError::Reason::invalid, "a message needs the device's serial number");
  auto st = c_.prepare("INSERT INTO messages (kind, sn, body, at) VALUES (?1, ?2, ?3, ?4)");
  st->bind(1, kind).bind(2, sn).bind(3, body).bind(4, at);
  st->run();
  return c_.db().last_insert_rowid();
}

std::int64_t Messages::prune(std::int64_t before, std::int64_t limit) {
  auto st = c_.prepare(
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE at < ?1 ORDER BY id LIMIT ?2)");
  st->bind(1, before).bind(2, limit > 0 ? limit : std::int64_t{-1});
  st->run();
  return c_.db().changes();
}

std::optional<std::int64_t> Messages::cursor(const std::string& consumer) {
  auto st = c_.prepare("SELECT cursor FROM message_cursors WHERE name = ?1");
  st->bind(1, consumer);
  if (!st->step()) return std::nullopt;
  return st->column_int(0);
}

void Messages::set_cursor(const std::string& consumer, std::int64_t id) {
  auto st = c_.prepare(
      "INSERT INTO message_cursors (name, cursor) VALUES (?1, ?2) "
      "ON CONFLICT (name) DO UPDATE SET cursor = max(cursor, excluded.cursor)");
  st->bind(1, consumer).bind(2, id);
  st->run();
}

}  // namespace zkpush::storage::sqlite
