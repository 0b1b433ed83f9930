#include "storage/sqlite/webhooks.hpp"

#include <nlohmann/json.hpp>

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::sqlite {

namespace {

constexpr const char* kWebhookColumns =
    "SELECT id, url, secret, kinds, sn, max_attempts, cursor, created_at, delivered, last_status, last_error, "
    "last_attempt_at, last_success_at, "
    "(SELECT count(*) FROM webhook_dead_letters d WHERE d.webhook_id = webhooks.id) FROM webhooks ";

}  // namespace

std::vector<Webhook> Webhooks::all() {
  std::vector<Webhook> out;
  auto st = c_.prepare(std::string(kWebhookColumns) + "ORDER BY id");
  while (st->step()) out.push_back(rows::read_webhook(*st));
  return out;
}

std::optional<Webhook> Webhooks::get(std::int64_t id) {
  auto st = c_.prepare(std::string(kWebhookColumns) + "WHERE id = ?1");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return rows::read_webhook(*st);
}

std::vector<DeadLetter> Webhooks::dead_letters(std::int64_t webhook_id, std::int64_t before_id, std::int64_t limit,
                                               bool only_redeliver) {
  // The list newest first; those asked again oldest first (the order they are delivered in).
  auto st = c_.prepare(only_redeliver
                           ? "SELECT id, webhook_id, message_id, attempts, last_status, last_error, failed_at, redeliver "
                             "FROM webhook_dead_letters WHERE webhook_id = ?1 AND (?2 = 0 OR id < ?2) AND redeliver = 1 "
                             "ORDER BY id LIMIT ?3"
                           : "SELECT id, webhook_id, message_id, attempts, last_status, last_error, failed_at, redeliver "
                             "FROM webhook_dead_letters WHERE webhook_id = ?1 AND (?2 = 0 OR id < ?2) "
                             "ORDER BY id DESC LIMIT ?3");
  st->bind(1, webhook_id).bind(2, before_id).bind(3, limit > 0 ? limit : std::int64_t{-1});
  std::vector<DeadLetter> out;
  while (st->step()) out.push_back(rows::read_dead_letter(*st));
  return out;
}

std::int64_t Webhooks::insert(const Webhook& w) {
  auto st = c_.prepare(
      "INSERT INTO webhooks (url, secret, kinds, sn, max_attempts, cursor, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st->bind(1, w.url).bind(2, w.secret).bind(3, w.kinds).bind(4, w.sn).bind(5, w.max_attempts).bind(6, w.cursor)
      .bind(7, w.created_at);
  st->run();
  return c_.db().last_insert_rowid();
}

bool Webhooks::remove(std::int64_t id) {
  {
    auto st = c_.prepare("DELETE FROM webhook_dead_letters WHERE webhook_id = ?1");
    st->bind(1, id);
    st->run();
  }
  auto st = c_.prepare("DELETE FROM webhooks WHERE id = ?1");
  st->bind(1, id);
  st->run();
  return c_.db().changes() > 0;
}

void Webhooks::progress(const WebhookProgress& p) {
  {
    // A webhook removed meanwhile changes nothing (its dead letters are not written either).
    auto st = c_.prepare(
        "UPDATE webhooks SET cursor = max(cursor, ?2), delivered = delivered + ?3, last_status = ?4, "
        "last_error = ?5, last_attempt_at = max(last_attempt_at, ?6), last_success_at = max(last_success_at, ?7) "
        "WHERE id = ?1");
    st->bind(1, p.id).bind(2, p.cursor).bind(3, p.delivered).bind(4, p.last_status).bind(5, p.last_error)
        .bind(6, p.last_attempt_at).bind(7, p.last_success_at);
    st->run();
    if (c_.db().changes() == 0) return;
  }
  for (const auto& d : p.dead) {
    auto st = c_.prepare(
        "INSERT INTO webhook_dead_letters (webhook_id, message_id, attempts, last_status, last_error, failed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st->bind(1, p.id).bind(2, d.message_id).bind(3, d.attempts).bind(4, d.last_status).bind(5, d.last_error)
        .bind(6, d.failed_at);
    st->run();
  }
  for (auto id : p.redelivered) {
    auto st = c_.prepare("DELETE FROM webhook_dead_letters WHERE id = ?1 AND webhook_id = ?2");
    st->bind(1, id).bind(2, p.id);
    st->run();
  }
  for (const auto& d : p.failed_again) {
    auto st = c_.prepare(
        "UPDATE webhook_dead_letters SET attempts = attempts + ?3, last_status = ?4, last_error = ?5, failed_at = ?6, "
        "redeliver = 0 WHERE id = ?1 AND webhook_id = ?2");
    st->bind(1, d.id).bind(2, p.id).bind(3, d.attempts).bind(4, d.last_status).bind(5, d.last_error).bind(6, d.failed_at);
    st->run();
  }
}

std::int64_t Webhooks::redeliver(std::int64_t webhook_id, const std::vector<std::int64_t>& ids) {
  auto st = c_.prepare(
      "UPDATE webhook_dead_letters SET redeliver = 1 WHERE webhook_id = ?1 AND redeliver = 0 AND "
      "(?2 = '[]' OR id IN (SELECT value FROM json_each(?2)))");
  st->bind(1, webhook_id).bind(2, nlohmann::json(ids).dump());
  st->run();
  return c_.db().changes();
}

}  // namespace zkpush::storage::sqlite
