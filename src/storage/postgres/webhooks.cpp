#include "storage/postgres/webhooks.hpp"

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace {

constexpr const char* kWebhookColumns =
    "SELECT id, url, secret, kinds, sn, max_attempts, cursor, created_at, delivered, last_status, last_error, "
    "last_attempt_at, last_success_at, "
    "(SELECT count(*) FROM webhook_dead_letters d WHERE d.webhook_id = webhooks.id) FROM webhooks ";

}  // namespace

std::vector<Webhook> Webhooks::all() {
  std::vector<Webhook> out;
  auto st = c_.prepare(std::string(kWebhookColumns) + "ORDER BY id");
  while (st.step()) out.push_back(rows::read_webhook(st));
  return out;
}

std::optional<Webhook> Webhooks::get(std::int64_t id) {
  auto st = c_.prepare(std::string(kWebhookColumns) + "WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_webhook(st);
}

std::vector<DeadLetter> Webhooks::dead_letters(std::int64_t webhook_id, std::int64_t before_id, std::int64_t limit,
                                               bool only_redeliver) {
  // The list newest first; those asked again oldest first (the order they are delivered in).
  auto st = c_.prepare(only_redeliver
                           ? "SELECT id, webhook_id, message_id, attempts, last_status, last_error, failed_at, redeliver "
                             "FROM webhook_dead_letters WHERE webhook_id = $1 AND ($2 = 0 OR id < $2) AND redeliver = 1 "
                             "ORDER BY id LIMIT $3"
                           : "SELECT id, webhook_id, message_id, attempts, last_status, last_error, failed_at, redeliver "
                             "FROM webhook_dead_letters WHERE webhook_id = $1 AND ($2 = 0 OR id < $2) "
                             "ORDER BY id DESC LIMIT $3");
  st.bind(1, webhook_id).bind(2, before_id);
  if (limit > 0) st.bind(3, limit);
  else st.bind_null(3);  // LIMIT NULL: all
  std::vector<DeadLetter> out;
  while (st.step()) out.push_back(rows::read_dead_letter(st));
  return out;
}

std::int64_t Webhooks::insert(const Webhook& w) {
  auto st = c_.prepare(
      "INSERT INTO webhooks (url, secret, kinds, sn, max_attempts, cursor, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id");
  st.bind(1, w.url).bind(2, w.secret).bind(3, w.kinds).bind(4, w.sn).bind(5, w.max_attempts).bind(6, w.cursor)
      .bind(7, w.created_at);
  st.step();
  return st.column_int(0);
}

bool Webhooks::remove(std::int64_t id) {
  // Its dead letters go with it (ON DELETE CASCADE).
  auto st = c_.prepare("DELETE FROM webhooks WHERE id = $1");
  st.bind(1, id);
  st.run();
  return c_.changes() > 0;
}

// One writer: the cursor moves forward only (GREATEST), so a late round never moves it back, but two
// nodes delivering the same webhook would both deliver each message; nodes sharing the database will
// need to own a webhook (an advisory lock on its id, say) for the round.
void Webhooks::progress(const WebhookProgress& p) {
  {
    // A webhook removed meanwhile changes nothing (its dead letters are not written either).
    auto st = c_.prepare(
        "UPDATE webhooks SET cursor = GREATEST(cursor, $2), delivered = delivered + $3, last_status = $4, "
        "last_error = $5, last_attempt_at = GREATEST(last_attempt_at, $6), "
        "last_success_at = GREATEST(last_success_at, $7) WHERE id = $1");
    st.bind(1, p.id).bind(2, p.cursor).bind(3, p.delivered).bind(4, p.last_status).bind(5, p.last_error)
        .bind(6, p.last_attempt_at).bind(7, p.last_success_at);
    st.run();
    if (c_.changes() == 0) return;
  }
  // A receiver that is down turns a whole round into dead letters: each list is one statement,
  // its rows as arrays. New dead letters take their ids in the order given (the id default is computed after the sort).
  if (!p.dead.empty()) {
    std::vector<std::int64_t> message_ids, attempts, statuses, failed_at;
    std::vector<std::string> errors;
    for (const auto& d : p.dead) {
      message_ids.push_back(d.message_id);
      attempts.push_back(d.attempts);
      statuses.push_back(d.last_status);
      errors.push_back(d.last_error);
      failed_at.push_back(d.failed_at);
    }
    auto st = c_.prepare(
        "INSERT INTO webhook_dead_letters (webhook_id, message_id, attempts, last_status, last_error, failed_at) "
        "SELECT $1, d.message_id, d.attempts, d.last_status, d.last_error, d.failed_at "
        "FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) "
        "WITH ORDINALITY AS d (message_id, attempts, last_status, last_error, failed_at, n) ORDER BY d.n");
    st.bind(1, p.id).bind(2, message_ids).bind(3, attempts).bind(4, statuses).bind(5, errors).bind(6, failed_at);
    st.run();
  }
  if (!p.redelivered.empty()) {
    auto st = c_.prepare("DELETE FROM webhook_dead_letters WHERE id = ANY($1) AND webhook_id = $2");
    st.bind(1, p.redelivered).bind(2, p.id);
    st.run();
  }
  if (!p.failed_again.empty()) {
    std::vector<std::int64_t> ids, attempts, statuses, failed_at;
    std::vector<std::string> errors;
    for (const auto& d : p.failed_again) {
      ids.push_back(d.id);
      attempts.push_back(d.attempts);
      statuses.push_back(d.last_status);
      errors.push_back(d.last_error);
      failed_at.push_back(d.failed_at);
    }
    auto st = c_.prepare(
        "UPDATE webhook_dead_letters w SET attempts = w.attempts + d.attempts, last_status = d.last_status, "
        "last_error = d.last_error, failed_at = d.failed_at, redeliver = 0 "
        "FROM unnest($1::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) "
        "AS d (id, attempts, last_status, last_error, failed_at) WHERE w.id = d.id AND w.webhook_id = $2");
    st.bind(1, ids).bind(2, p.id).bind(3, attempts).bind(4, statuses).bind(5, errors).bind(6, failed_at);
    st.run();
  }
}

std::int64_t Webhooks::redeliver(std::int64_t webhook_id, const std::vector<std::int64_t>& ids) {
  auto st = c_.prepare(
      "UPDATE webhook_dead_letters SET redeliver = 1 WHERE webhook_id = $1 AND redeliver = 0 AND "
      "(cardinality($2::bigint[]) = 0 OR id = ANY($2))");
  st.bind(1, webhook_id).bind(2, ids);
  st.run();
  return c_.changes();
}

}  // namespace zkpush::storage::postgres
