#include "front/api/requests.hpp"

#include <algorithm>
#include <string>

#include "front/api/answers.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

// The query parameter `name`, nullopt when absent or empty.
std::optional<std::string> query_value(const Call& call, std::string_view name) {
  const auto target = p::parse_target(call.request.target());
  auto v = target.query.get(name);
  if (!v || v->empty()) return std::nullopt;
  return std::string(*v);
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::optional<std::int64_t> limit_param(const Call& call, std::int64_t fallback) {
  const auto text = query_value(call, "limit");
  if (!text) return fallback;
  auto n = p::text::parse_int(*text);
  if (!all_digits(*text) || !n || *n <= 0) {
    answer_error(call.respond, call.who, 400,
                 "limit: a number >= 1 (at most " + std::to_string(kMaxPageLimit) + " are returned), not " +
                     p::text::quoted(*text));
    return std::nullopt;
  }
  return std::min(*n, kMaxPageLimit);
}

std::optional<std::int64_t> id_param(const Call& call, std::string_view name, std::string_view what) {
  const auto text = query_value(call, name);
  if (!text) return std::int64_t{0};
  auto n = p::text::parse_int(*text);
  if (!all_digits(*text) || !n || *n <= 0) {
    answer_error(call.respond, call.who, 400,
                 std::string(name) + ": " + std::string(what) + " (a positive number), not " + p::text::quoted(*text));
    return std::nullopt;
  }
  return n;
}

std::optional<std::int64_t> path_id(const Call& call, std::string_view what, std::size_t at) {
  const auto& text = call.params.at(at);
  auto id = p::text::parse_int(text);
  if (!all_digits(text) || !id || *id <= 0) {
    answer_error(call.respond, call.who, 400, std::string(what) + " id is a positive number, not " + p::text::quoted(text));
    return std::nullopt;
  }
  return id;
}

void read_json(const ApiServices& s, const Call& call, std::function<Json(storage::Reads&)> job) {
  s.store.read([job = std::move(job)](storage::Reads& r) { return job(r); },
               [respond = call.respond, who = call.who](storage::StoreResult<Json> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 answer_json(respond, 200, r.value());
               });
}

}  // namespace zkpush::front::api
