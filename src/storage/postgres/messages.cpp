#include "storage/postgres/messages.hpp"

#include "storage/result.hpp"
#include "storage/postgres/events.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

std::vector<Message> Messages::list(const MessageFilter& f) {
  // Two statements, so that each gets a plan walking the index that serves its filter (by id, or by
  // device and id).
  static const std::string kAll = rows::select_messages(
      "WHERE m.id > $1 AND (cardinality($3::text[]) = 0 OR m.kind = ANY($3)) ORDER BY m.id LIMIT $2");
  static const std::string kDevice = rows::select_messages(
      "WHERE m.sn = $4 AND m.id > $1 AND (cardinality($3::text[]) = 0 OR m.kind = ANY($3)) ORDER BY m.id LIMIT $2");
  auto st = c_.prepare(f.sn.empty() ? kAll : kDevice);
  st.bind(1, f.after_id).bind(3, f.kinds);
  if (f.limit > 0) st.bind(2, f.limit);
  else st.bind_null(2);  // LIMIT NULL: all
  if (!f.sn.empty()) st.bind(4, f.sn);
  std::vector<Message> out;
  while (st.step()) out.push_back(rows::read_message(st, events::kEventRaw));
  return out;
}

std::vector<Message> Messages::get(const std::vector<std::int64_t>& ids) {
  static const std::string kByIds = rows::select_messages("WHERE m.id = ANY($1) ORDER BY m.id");
  auto st = c_.prepare(kByIds);
  st.bind(1, ids);
  std::vector<Message> out;
  while (st.step()) out.push_back(rows::read_message(st, events::kEventRaw));
  return out;
}

std::int64_t Messages::last_id() {
  auto st = c_.prepare("SELECT coalesce(max(id), 0) FROM messages");
  st.step();
  return st.column_int(0);
}

std::int64_t Messages::add(const std::string& kind, const std::string& sn, const std::string& body, std::int64_t at) {
  if (sn.empty()) throw Refused(StoreError::Reason::invalid, "a message needs the device's serial number");
  // The id is taken under the lock the triggers take too (schema.cpp), so that messages become
  // visible in id order on every node. The lock is taken in a CTE that is not folded into the
  // INSERT (it calls a volatile function): its row is read, the lock held, before the INSERT
  // computes the new row's id default from that row.
  auto st = c_.prepare(
      "WITH locked AS (SELECT zkpush_messages_lock()) "
      "INSERT INTO messages (kind, sn, body, at) SELECT $1, $2, $3, $4 FROM locked RETURNING id");
  st.bind(1, kind).bind(2, sn).bind(3, body).bind(4, at);
  st.step();
  return st.column_int(0);
}

std::int64_t Messages::prune(std::int64_t before, std::int64_t limit) {
  auto st = c_.prepare(
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE at < $1 ORDER BY id LIMIT $2)");
  st.bind(1, before);
  if (limit > 0) st.bind(2, limit);
  else st.bind_null(2);  // LIMIT NULL: all
  st.run();
  return c_.changes();
}

std::optional<std::int64_t> Messages::cursor(const std::string& consumer) {
  auto st = c_.prepare("SELECT cursor FROM message_cursors WHERE name = $1");
  st.bind(1, consumer);
  if (!st.step()) return std::nullopt;
  return st.column_int(0);
}

void Messages::set_cursor(const std::string& consumer, std::int64_t id) {
  auto st = c_.prepare(
      "INSERT INTO message_cursors (name, cursor) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET cursor = GREATEST(message_cursors.cursor, excluded.cursor)");
  st.bind(1, consumer).bind(2, id);
  st.run();
}

}  // namespace zkpush::storage::postgres
