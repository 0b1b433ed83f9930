// How the API answers: JSON bodies, and errors as {"error": "..."} with a log line.
#pragma once

#include <string>
#include <string_view>

#include "front/api/views.hpp"
#include "front/peer.hpp"
#include "storage/result.hpp"

namespace zkpush::front::api {

void answer_json(const SharedResponder& respond, int status, const Json& body);
// The response answer_json sends, for a handler that adds a header first.
http::Response json_response(int status, const Json& body);
// {"error": message, "code": a stable word, "field": the field at fault (when there is one)},
// logged as warn (4xx) or error (5xx) with `who` ("<ip> <METHOD> <target>"). `code` defaults to the
// status's (error_code_for); `field` to what the message starts with ("seconds: 1 to 254" ->
// "seconds", `unknown field "x"` -> "x", whose code is then unknown_field).
void answer_error(const SharedResponder& respond, const std::string& who, int status, const std::string& message,
                  std::string_view code = "", std::string_view field = "");
// invalid, unauthorized, forbidden, not_found, method_not_allowed, conflict, too_large,
// unsupported_media_type, rate_limited, unavailable, timeout, internal.
const char* error_code_for(int status) noexcept;
std::string error_field_of(std::string_view message);
// A store error mapped to a status: not_found 404, conflict 409, invalid 400, a failure 503.
void answer_store_refusal(const SharedResponder& respond, const std::string& who, const storage::StoreError& e);

}  // namespace zkpush::front::api
