// What the API's handlers share to read a request and answer it from the store: the listing
// parameters (?limit=, ?before_id=, ?after_id=) checked the same way on every route, and a read
// answered as JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "front/api/api_endpoints.hpp"
#include "front/api/routes.hpp"
#include "front/api/views.hpp"

namespace zkpush::front::api {

inline constexpr std::int64_t kDefaultPageLimit = 100;
inline constexpr std::int64_t kMaxPageLimit = 1000;

// ?limit=: a number >= 1, `fallback` when absent, at most kMaxPageLimit (a larger value gives that).
// An empty parameter counts as absent (the documented templates leave them empty). nullopt, and a 400
// "limit: ..." answered, when it is not one.
std::optional<std::int64_t> limit_param(const Call& call, std::int64_t fallback = kDefaultPageLimit);
// ?<name>=: an id (a positive decimal number), 0 when absent or empty; nullopt and a 400 "<name>: ..."
// answered when it is not one. `what` names the id in the message ("a log entry id").
std::optional<std::int64_t> id_param(const Call& call, std::string_view name, std::string_view what);

// {id} of a path (its `at`th parameter): a positive decimal number; nullopt and a 400 "<what> id is a
// positive number, not ..." answered when it is not one.
std::optional<std::int64_t> path_id(const Call& call, std::string_view what, std::size_t at = 0);

// Runs `job` in a read unit of work (off the I/O thread) and answers 200 with the JSON it built; a
// store failure is answered by answer_store_refusal.
void read_json(const ApiServices& s, const Call& call, std::function<Json(storage::Reads&)> job);

}  // namespace zkpush::front::api
