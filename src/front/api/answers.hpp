// How the API answers: JSON bodies, and errors as {"error": "..."} with a log line.
#pragma once

#include <string>

#include "front/api/views.hpp"
#include "front/peer.hpp"
#include "storage/result.hpp"

namespace zkpush::front::api {

void answer_json(const SharedResponder& respond, int status, const Json& body);
// Logged as warn (4xx) or error (5xx) with `who` ("<ip> <METHOD> <target>").
void answer_error(const SharedResponder& respond, const std::string& who, int status, const std::string& message);
// A store error mapped to a status: not_found 404, conflict 409, invalid 400, a failure 503.
void answer_store_refusal(const SharedResponder& respond, const std::string& who, const storage::StoreError& e);

}  // namespace zkpush::front::api
