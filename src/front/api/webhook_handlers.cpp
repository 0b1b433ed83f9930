// The routes of /api/v1/webhooks: subscriptions to the message log (outbound/webhooks.hpp delivers
// them), their dead letters and redelivery. Admin only: a subscription sends everything it names
// to a URL of the caller's choosing, and its secret signs what is sent.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "front/api/webhook_url.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

constexpr std::int64_t kMaxAttempts = 20;

Json optional_positive(std::int64_t v) { return v > 0 ? Json(v) : Json(nullptr); }

Json webhook_json(const storage::Webhook& w) {
  Json events = Json::array();
  for (auto kind : p::text::split(w.kinds, ','))
    if (!kind.empty()) events.push_back(std::string(kind));
  Json j{{"id", w.id}, {"url", w.url}, {"events", std::move(events)}};
  j["sn"] = w.sn.empty() ? Json(nullptr) : Json(w.sn);
  j["max_attempts"] = w.max_attempts;
  j["cursor"] = w.cursor;
  j["delivered"] = w.delivered;
  j["dead_letters"] = w.dead_letters;
  j["last_status"] = optional_positive(w.last_status);
  j["last_error"] = w.last_error.empty() ? Json(nullptr) : Json(w.last_error);
  j["last_attempt_at"] = optional_positive(w.last_attempt_at);
  j["last_success_at"] = optional_positive(w.last_success_at);
  j["created_at"] = w.created_at;
  return j;
}

Json dead_letter_json(const storage::DeadLetter& d) {
  Json j{{"id", d.id}, {"message_id", d.message_id}, {"attempts", d.attempts}};
  j["last_status"] = optional_positive(d.last_status);
  j["last_error"] = d.last_error;
  j["failed_at"] = d.failed_at;
  j["redeliver"] = d.redeliver;
  return j;
}

// The subscription a POST describes, or the answer refusing it (sent).
std::optional<storage::Webhook> read_new_webhook(Call& c) {
  auto refuse = [&c](const std::string& message, const char* field) {
    answer_error(c.respond, c.who, 400, message, "invalid", field);
    return std::nullopt;
  };
  auto body = Json::parse(c.request.body(), nullptr, false);
  if (!body.is_object()) return refuse("expected a JSON object {\"url\", \"secret\", \"events\"}", "");
  static const std::set<std::string> known{"url", "secret", "events", "sn", "max_attempts"};
  for (const auto& item : body.items()) {
    if (!known.count(item.key()))
      return refuse("unknown field " + p::text::quoted(item.key()) + " (url, secret, events, sn, max_attempts)",
                    item.key().c_str());
  }
  storage::Webhook w;
  if (!body.contains("url") || !body["url"].is_string()) return refuse("url: the receiver's http:// URL", "url");
  w.url = body["url"].get<std::string>();
  std::string why;
  if (w.url.size() > 2000 || !parse_webhook_url(w.url, &why)) return refuse("url: " + why, "url");
  if (!body.contains("secret") || !body["secret"].is_string() || body["secret"].get<std::string>().empty())
    return refuse("secret: a non-empty string, the key of the X-Zkpush-Signature HMAC", "secret");
  w.secret = body["secret"].get<std::string>();
  if (w.secret.size() > 1024) return refuse("secret: at most 1024 characters", "secret");
  std::vector<std::string> kinds;
  if (body.contains("events")) {
    const auto& events = body["events"];
    if (!events.is_array() || events.empty())
      return refuse("events: a non-empty array of \"*\", \"event\", \"door_state\", \"command\", \"device\", \"sync\"", "events");
    for (const auto& e : events) {
      const std::string kind = e.is_string() ? e.get<std::string>() : std::string();
      if (kind != "*" && !is_message_kind(kind))
        return refuse("events: " + (e.is_string() ? p::text::quoted(kind) : e.dump()) +
                          " is not \"*\", \"event\", \"door_state\", \"command\", \"device\" or \"sync\"",
                      "events");
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    }
  } else {
    kinds.push_back("*");
  }
  // "*" is every access event, as "event" is; door states, commands and presence are asked for by name.
  if (std::find(kinds.begin(), kinds.end(), "*") != kinds.end()) kinds.erase(std::remove(kinds.begin(), kinds.end(), "event"), kinds.end());
  for (const auto& k : kinds) w.kinds += (w.kinds.empty() ? "" : ",") + k;
  if (body.contains("sn")) {
    if (!body["sn"].is_string() && !body["sn"].is_null()) return refuse("sn: a device's serial number", "sn");
    if (body["sn"].is_string()) w.sn = body["sn"].get<std::string>();
  }
  if (body.contains("max_attempts")) {
    const auto& m = body["max_attempts"];
    if (!m.is_number_integer() || m.get<std::int64_t>() < 1 || m.get<std::int64_t>() > kMaxAttempts)
      return refuse("max_attempts: 1 to " + std::to_string(kMaxAttempts), "max_attempts");
    w.max_attempts = m.get<std::int64_t>();
  }
  return w;
}

}  // namespace

void add_webhook_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices* s = &services;
  table.add({V::get, "/api/v1/webhooks", Role::admin, "listWebhooks",
             "Every webhook subscription with its delivery state (never its secret)", "", "200 Webhook[]", {},
             [s](Call& c) {
               s->store.read([](storage::Reads& r) { return r.webhooks().all(); },
                             [respond = c.respond, who = c.who](storage::StoreResult<std::vector<storage::Webhook>> r) {
                               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                               Json out = Json::array();
                               for (const auto& w : r.value()) out.push_back(webhook_json(w));
                               answer_json(respond, 200, out);
                             });
             }});
  table.add({V::post, "/api/v1/webhooks", Role::admin, "createWebhook",
             "Subscribes a URL to what happens from now on (events: \"*\" every access event, plus door_state, "
             "command, device by name); deliveries are signed with X-Zkpush-Signature: sha256=<HMAC of the body>",
             "NewWebhook", "201 Webhook", {}, [s](Call& c) {
               auto hook = read_new_webhook(c);
               if (!hook) return;
               s->store.write(
                   [hook = *hook, now = s->devices.clock().now()](storage::Transaction& tx) mutable {
                     hook.cursor = tx.messages().last_id();  // what happens from now on
                     hook.created_at = now;
                     hook.id = tx.webhooks().insert(hook);
                     return *tx.webhooks().get(hook.id);
                   },
                   [s, respond = c.respond, who = c.who](storage::StoreResult<storage::Webhook> r) {
                     if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                     // The host only: receivers' paths and queries often carry their own secrets.
                     const auto url = parse_webhook_url(r->url);
                     spdlog::info("{}: webhook {} to http://{} ({})", who, r->id, url ? url->host_header() : "?", r->kinds);
                     s->webhooks_changed();
                     answer_json(respond, 201, webhook_json(r.value()));
                   });
             }});
  table.add({V::get, "/api/v1/webhooks/{id}", Role::admin, "getWebhook", "One webhook subscription (404 unknown)", "",
             "200 Webhook", {}, [s](Call& c) {
               auto id = path_id(c, "a webhook");
               if (!id) return;
               s->store.read([id = *id](storage::Reads& r) { return r.webhooks().get(id); },
                             [respond = c.respond, who = c.who, id = *id](storage::StoreResult<std::optional<storage::Webhook>> r) {
                               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                               if (!r.value()) return answer_error(respond, who, 404, "no webhook " + std::to_string(id));
                               answer_json(respond, 200, webhook_json(**r));
                             });
             }});
  table.add({V::delete_, "/api/v1/webhooks/{id}", Role::admin, "deleteWebhook",
             "Ends a subscription; its dead letters go with it", "", "200 Deleted", {}, [s](Call& c) {
               auto id = path_id(c, "a webhook");
               if (!id) return;
               s->store.write([id = *id](storage::Transaction& tx) { return tx.webhooks().remove(id); },
                              [s, respond = c.respond, who = c.who, id = *id](storage::StoreResult<bool> r) {
                                if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                                if (!r.value()) return answer_error(respond, who, 404, "no webhook " + std::to_string(id));
                                spdlog::info("{}: webhook {} deleted", who, id);
                                s->webhooks_changed();
                                answer_json(respond, 200, Json{{"deleted", true}});
                              });
             }});
  table.add({V::get, "/api/v1/webhooks/{id}/dead-letters", Role::admin, "listDeadLetters",
             "Messages a webhook gave up on after its max_attempts, newest first", "", "200 DeadLetter[]",
             {{"before_id", "integer", "only dead letters with a smaller id (paging)"},
              {"limit", "integer", "at most this many (default 100, at most 1000)"}},
             [s](Call& c) {
               auto id = path_id(c, "a webhook");
               if (!id) return;
               const auto before = id_param(c, "before_id", "a dead letter id");
               const auto limit = before ? limit_param(c) : std::nullopt;
               if (!limit) return;
               s->store.read(
                   [id = *id, before = *before, limit = *limit](storage::Reads& r) {
                     if (!r.webhooks().get(id)) throw storage::Refused(storage::StoreError::Reason::not_found, "no webhook " + std::to_string(id));
                     return r.webhooks().dead_letters(id, before, limit, false);
                   },
                   [respond = c.respond, who = c.who](storage::StoreResult<std::vector<storage::DeadLetter>> r) {
                     if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                     Json out = Json::array();
                     for (const auto& d : r.value()) out.push_back(dead_letter_json(d));
                     answer_json(respond, 200, out);
                   });
             }});
  table.add({V::post, "/api/v1/webhooks/{id}/redeliver", Role::admin, "redeliverDeadLetters",
             "Delivers dead letters again ({\"ids\": [...]}, or all of them without a body), before what comes next",
             "Redeliver", "200 Redelivering", {}, [s](Call& c) {
               auto id = path_id(c, "a webhook");
               if (!id) return;
               std::vector<std::int64_t> ids;
               if (!p::text::trim(c.request.body()).empty()) {
                 auto body = Json::parse(c.request.body(), nullptr, false);
                 if (!body.is_object()) return answer_error(c.respond, c.who, 400, "expected {\"ids\": [dead letter ids]}", "invalid", "");
                 for (const auto& item : body.items())
                   if (item.key() != "ids")
                     return answer_error(c.respond, c.who, 400, "unknown field " + p::text::quoted(item.key()) + " (ids)", "invalid", item.key());
                 if (body.contains("ids")) {
                   if (!body["ids"].is_array()) return answer_error(c.respond, c.who, 400, "ids: an array of dead letter ids", "invalid", "ids");
                   for (const auto& v : body["ids"]) {
                     if (!v.is_number_integer() || v.get<std::int64_t>() <= 0)
                       return answer_error(c.respond, c.who, 400, "ids: dead letter ids are positive numbers", "invalid", "ids");
                     ids.push_back(v.get<std::int64_t>());
                   }
                   if (ids.empty()) return answer_error(c.respond, c.who, 400, "ids: empty (leave the body out for all)", "invalid", "ids");
                 }
               }
               s->store.write(
                   [id = *id, ids](storage::Transaction& tx) {
                     if (!tx.webhooks().get(id)) throw storage::Refused(storage::StoreError::Reason::not_found, "no webhook " + std::to_string(id));
                     return tx.webhooks().redeliver(id, ids);
                   },
                   [s, respond = c.respond, who = c.who, id = *id](storage::StoreResult<std::int64_t> r) {
                     if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                     spdlog::info("{}: webhook {}: {} dead letters to deliver again", who, id, r.value());
                     s->webhooks_changed();
                     answer_json(respond, 200, Json{{"redelivering", r.value()}});
                   });
             }});
}

}  // namespace zkpush::front::api
