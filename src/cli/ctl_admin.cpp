// zkpush ctl commands (the command queue: list, cancel), tokens (list, create, revoke) and webhooks
// (list, show, add, delete, dead-letters, redeliver). Tokens and webhooks need an admin token.
#include <iostream>

#include "cli/checks.hpp"
#include "cli/ctl.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli::ctl {

namespace {

// "1,2, 3" as numbers; a word that is not one is the user's mistake.
std::vector<std::int64_t> id_list(const std::string& list, const char* option) {
  std::vector<std::int64_t> ids;
  for (auto part : protocol::text::split(list, ',')) {
    auto id = protocol::text::parse_int(protocol::text::trim(part));
    if (!id || *id <= 0) throw UsageError(std::string(option) + ": ids are positive numbers, not " + std::string(part));
    ids.push_back(*id);
  }
  return ids;
}

std::vector<std::string> word_list(const std::string& list) {
  std::vector<std::string> words;
  for (auto part : protocol::text::split(list, ','))
    if (auto w = protocol::text::trim(part); !w.empty()) words.emplace_back(w);
  return words;
}

// One line saying what happened, `what` naming the object: "command 7 cancelled".
std::function<int(const Ctl&)> change(const std::string& method, const std::string& path, const std::string& what,
                                      const std::string& done) {
  return [=](const Ctl& c) {
    const std::string id = std::to_string(c.flags->id);
    return show(c, request(method, path + id),
                [=](const Json&) { std::cout << what << " " << id << " " << done << "\n"; });
  };
}

int commands_list(const Ctl& c) {
  const auto& f = *c.flags;
  const std::string limit = f.limit > 0 ? std::to_string(f.limit) : "";
  return show(c, get("/api/v1/commands" + query({{"sn", f.sn}, {"status", f.status}, {"limit", limit}})), [](const Json& list) {
    print_rows(list,
               {col("ID", "id"), col("SN", "sn"), col("STATUS", "status"), col("RETURN", "return"),
                time_col("CREATED", "created_at"), col("LINE", "line")},
               "(no commands)");
  });
}

int tokens_list(const Ctl& c) {
  return show(c, get("/api/v1/tokens"), [](const Json& list) {
    print_rows(list,
               {col("ID", "id"), col("NAME", "name"), col("ROLE", "role"), time_col("CREATED", "created_at"),
                time_col("REVOKED", "revoked_at")},
               "(no tokens made through the API)");
  });
}

// The token alone on stdout, so that T=$(zkpush ctl tokens create ...) keeps it; the rest on stderr.
int token_create(const Ctl& c) {
  return show(c, post("/api/v1/tokens", Json{{"name", c.flags->name}, {"role", c.flags->role}}), [](const Json& t) {
    std::cerr << "token " << text_of(t.value("id", Json())) << " \"" << text_of(t.value("name", Json())) << "\" ("
              << text_of(t.value("role", Json())) << "): shown this once, keep it\n";
    std::cout << text_of(t.value("token", Json())) << "\n";
  });
}

const std::vector<Column>& webhook_columns() {
  static const std::vector<Column> columns{
      col("ID", "id"), col("URL", "url"), col("EVENTS", "events"), col("SN", "sn"), col("DELIVERED", "delivered"),
      col("DEAD", "dead_letters"), col("LAST STATUS", "last_status"), col("LAST ERROR", "last_error")};
  return columns;
}

int webhooks_list(const Ctl& c) {
  return show(c, get("/api/v1/webhooks"), [](const Json& list) { print_rows(list, webhook_columns(), "(no webhooks)"); });
}

int webhook_add(const Ctl& c) {
  const auto& f = *c.flags;
  Json body{{"url", f.url}, {"secret", f.secret}};
  if (!f.events.empty()) body["events"] = word_list(f.events);
  if (!f.sn.empty()) body["sn"] = f.sn;
  if (f.max_attempts > 0) body["max_attempts"] = f.max_attempts;
  return show(c, post("/api/v1/webhooks", body), [](const Json& w) {
    std::cout << "webhook " << text_of(w.value("id", Json())) << " to " << text_of(w.value("url", Json())) << " ("
              << text_of(w.value("events", Json())) << ")\n";
  });
}

std::string webhook_path(const Ctl& c) { return "/api/v1/webhooks/" + seg(c.flags->id); }

int dead_letters(const Ctl& c) {
  return show(c, get(webhook_path(c) + "/dead-letters"), [](const Json& list) {
    print_rows(list,
               {col("ID", "id"), col("MESSAGE", "message_id"), col("ATTEMPTS", "attempts"), col("STATUS", "last_status"),
                time_col("FAILED", "failed_at"), col("ERROR", "last_error")},
               "(no dead letters)");
  });
}

int redeliver(const Ctl& c) {
  Request r = post(webhook_path(c) + "/redeliver");
  r.body = c.flags->ids.empty() ? "" : Json{{"ids", id_list(c.flags->ids, "--ids")}}.dump();
  return show(c, r, [&c](const Json& j) {
    std::cout << "webhook " << c.flags->id << ": " << text_of(j.value("redelivering", Json()))
              << " dead letter(s) to be delivered again\n";
  });
}

CLI::Option* id_argument(CLI::App* sub, CtlFlags& f, const std::string& what) {
  return sub->add_option("id", f.id, what)->required()->check(at_least(1));
}

void add_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* commands = area(root, "commands", "The command queue: list (the default), cancel", f, commands_list);
  auto* list = action(*commands, "list", "Commands, newest first", f, commands_list);
  list->add_option("--sn", f->sn, "one device's commands only");
  list->add_option("--status", f->status, "only these statuses: queued, sent, done, failed, expired, cancelled, open (queued and sent); comma-separated");
  list->add_option("--limit", f->limit, "at most this many (server default 100, at most 1000)")->check(CLI::Range(1, 1000));
  id_argument(action(*commands, "cancel", "Cancel a queued command (refused once delivered)", f,
                     change("DELETE", "/api/v1/commands/", "command", "cancelled")),
              *f, "the command's id");
}

void add_tokens(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* tokens = area(root, "tokens", "API tokens with roles (admin only): list (the default), create, revoke", f, tokens_list);
  action(*tokens, "list", "The tokens made through the API (never the tokens themselves)", f, tokens_list);
  auto* create = action(*tokens, "create", "Make a token; it is printed this once", f, token_create);
  create->add_option("name", f->name, "what the token is for")->required();
  create->add_option("--role", f->role, "admin, operator or viewer")->required()->check(CLI::IsMember({"admin", "operator", "viewer"}));
  id_argument(action(*tokens, "revoke", "Revoke a token from its next request on", f,
                     change("DELETE", "/api/v1/tokens/", "token", "revoked")),
              *f, "the token's id");
}

void add_webhooks(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  auto* hooks = area(root, "webhooks", "Webhook subscriptions (admin only): list (the default), show, add, delete, dead-letters, redeliver",
                     f, webhooks_list);
  action(*hooks, "list", "Every subscription with its delivery state", f, webhooks_list);
  id_argument(action(*hooks, "show", "One subscription", f,
                     [](const Ctl& c) { return show(c, get(webhook_path(c)), print_object); }),
              *f, "the webhook's id");
  auto* add = action(*hooks, "add", "Subscribe a URL to what happens from now on", f, webhook_add);
  add->add_option("url", f->url, "the receiver's http:// URL")->required();
  add->add_option("--secret", f->secret, "the key of the X-Zkpush-Signature HMAC")->required();
  add->add_option("--events", f->events, "comma-separated: event, door_state, command, device, or * (the server's default: *)");
  add->add_option("--sn", f->sn, "one device's messages only");
  add->add_option("--max-attempts", f->max_attempts, "attempts before a message becomes a dead letter, 1 to 20")->check(CLI::Range(1, 20));
  id_argument(action(*hooks, "delete", "End a subscription (its dead letters go with it); asks nothing", f,
                     change("DELETE", "/api/v1/webhooks/", "webhook", "deleted")),
              *f, "the webhook's id");
  id_argument(action(*hooks, "dead-letters", "The messages a subscription gave up on, newest first", f, dead_letters), *f,
              "the webhook's id");
  auto* again = action(*hooks, "redeliver", "Deliver dead letters again (all, or --ids)", f, redeliver);
  id_argument(again, *f, "the webhook's id");
  again->add_option("--ids", f->ids, "only these dead letters, comma-separated (1,2)");
}

}  // namespace

void add_admin_commands(CLI::App& root, const std::shared_ptr<CtlFlags>& f) {
  add_commands(root, f);
  add_tokens(root, f);
  add_webhooks(root, f);
}

}  // namespace zkpush::cli::ctl
