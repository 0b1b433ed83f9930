// The routes of /api/v1/tokens: API tokens with roles (service/tokens.hpp), for admins only. A new
// token is in the answer of its POST and nowhere else. And /api/v1/audit, the log of every
// state-changing call (written by ApiEndpoints::handle), each entry with its chain hash, and
// /api/v1/audit/verify, the check of that chain (storage/audit_chain.hpp), for admins too. /api/v1/me, for any
// token: who it is.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"
#include "storage/audit_chain.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

Json token_json(const storage::ApiToken& t) {
  Json j{{"id", t.id}, {"name", t.name}, {"role", t.role}, {"created_at", t.created_at}};
  j["revoked_at"] = t.revoked_at == 0 ? Json(nullptr) : Json(t.revoked_at);
  return j;
}

Json audit_json(const storage::AuditEntry& e) {
  return Json{{"id", e.id},         {"at", e.at},         {"actor", e.actor},
              {"role", e.role.empty() ? Json(nullptr) : Json(e.role)},
              {"remote", e.remote}, {"method", e.method}, {"target", e.target},
              {"operation", e.operation.empty() ? Json(nullptr) : Json(e.operation)},
              {"status", e.status}, {"hash", e.hash}};
}

}  // namespace

void add_token_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices* s = &services;
  table.add({V::get, "/api/v1/me", Role::viewer, "getMe",
             "Who the bearer token is: its role (admin, operator, viewer), name and id (null for the server's "
             "own token, named \"bootstrap\")",
             "", "200 Me", {}, [](Call& c) {
               answer_json(c.respond, 200,
                           caller_json(role_name(c.caller.role), c.caller.name, c.caller.token_id, c.caller.actor));
             }});
  table.add({V::get, "/api/v1/tokens", Role::admin, "listTokens",
             "Every API token made through the API, revoked ones included (never the tokens themselves)", "",
             "200 Token[]", {}, [s](Call& c) {
               s->tokens.list([respond = c.respond, who = c.who](storage::StoreResult<std::vector<storage::ApiToken>> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 Json out = Json::array();
                 for (const auto& t : r.value()) out.push_back(token_json(t));
                 answer_json(respond, 200, out);
               });
             }});
  table.add({V::post, "/api/v1/tokens", Role::admin, "createToken",
             "Makes a token with a role (admin, operator, viewer); the answer holds the token, shown this once",
             "NewToken", "201 MadeToken", {}, [s](Call& c) {
               auto body = Json::parse(c.request.body(), nullptr, false);
               if (!body.is_object()) return answer_error(c.respond, c.who, 400, "expected a JSON object {\"name\", \"role\"}");
               for (const auto& [key, value] : body.items())
                 if (key != "name" && key != "role")
                   return answer_error(c.respond, c.who, 400, "unknown field " + p::text::quoted(key) + " (name, role)");
               if (!body.contains("name") || !body["name"].is_string() || !body.contains("role") || !body["role"].is_string())
                 return answer_error(c.respond, c.who, 400, "name and role (admin, operator or viewer) are strings");
               s->tokens.create(body["name"].get<std::string>(), body["role"].get<std::string>(),
                                [respond = c.respond, who = c.who](storage::StoreResult<service::Tokens::Made> r) {
                                  if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                                  auto j = token_json(r->token);
                                  j["token"] = r->secret;
                                  answer_json(respond, 201, j);
                                });
             }});
  table.add({V::get, "/api/v1/audit", Role::admin, "listAudit",
             "The audit log: every state-changing API call (who, what, when, from where, its status), newest first",
             "", "200 AuditEntry[]",
             {{"before_id", "integer", "only entries with a smaller id (paging)"},
              {"limit", "integer", "at most this many (default 100, at most 1000)"},
              {"actor", "string", "only this caller, as the entries name it"}},
             [s](Call& c) {
               const auto target = p::parse_target(c.request.target());
               const auto before = id_param(c, "before_id", "an audit entry id");
               const auto limit = before ? limit_param(c) : std::nullopt;
               if (!limit) return;
               storage::AuditFilter filter;
               filter.before_id = *before;
               filter.limit = *limit;
               filter.actor = std::string(target.query.get_or("actor", ""));
               s->store.read([filter](storage::Reads& r) { return r.audit().list(filter); },
                             [respond = c.respond, who = c.who](storage::StoreResult<std::vector<storage::AuditEntry>> r) {
                               if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                               Json out = Json::array();
                               for (const auto& e : r.value()) out.push_back(audit_json(e));
                               answer_json(respond, 200, out);
                             });
             }});
  table.add({V::get, "/api/v1/audit/verify", Role::admin, "verifyAudit",
             "Checks the audit log's hash chain: intact, or the first edited, deleted or moved entry and why; the "
             "entry count and last hash to compare with a copy kept elsewhere",
             "", "200 AuditVerdict", {}, [s](Call& c) {
               s->store.read(
                   [](storage::Reads& r) {
                     return storage::verify_audit_chain(
                         [&r](std::int64_t after, std::int64_t limit) { return r.audit().ascending(after, limit); });
                   },
                   [respond = c.respond, who = c.who](storage::StoreResult<storage::AuditVerdict> r) {
                     if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                     const auto& v = r.value();
                     Json out{{"intact", v.intact}, {"entries", v.entries}, {"last_id", v.last_id},
                              {"last_hash", v.last_hash}};
                     if (!v.intact) {
                       spdlog::error("{}: audit chain broken at entry {} ({}): {}", who, v.broken_id, v.problem, v.why);
                       out["broken_id"] = v.broken_id;
                       out["problem"] = v.problem;
                       out["why"] = v.why;
                     }
                     answer_json(respond, 200, out);
                   });
             }});
  table.add({V::delete_, "/api/v1/tokens/{id}", Role::admin, "revokeToken",
             "Revokes a token: it is refused from the next request on", "", "200 Token", {}, [s](Call& c) {
               auto id = path_id(c, "a token");
               if (!id) return;
               s->tokens.revoke(*id, [respond = c.respond, who = c.who](storage::StoreResult<storage::ApiToken> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 answer_json(respond, 200, token_json(r.value()));
               });
             }});
}

}  // namespace zkpush::front::api
