// Whole messages of either side decoded to JSON: what `zkpush decode` prints, and what the server's
// wire trace (GET /api/v1/devices/{sn}/trace) shows of an exchange. Both call these functions, so
// the two always agree on what a message means.
//
// Every function returns a Decoded: the view, and whether the input could be read. An input that
// cannot be read gives {"error","where"} (never an exception), as every parser of the core.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/describe.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/http_capture.hpp"

namespace zkpush::protocol {

struct Decoded {
  nlohmann::ordered_json view;  // the message decoded, or {"error","where"}
  bool ok = true;
};

// What `zkpush decode` reads, told apart by its first bytes: "C:" or "DataType=" starts server
// commands, "ID=" devicecmd result lines, "HTTP/" a server response, a first line that starts with a
// command verb and is not an HTTP request line one command without its C:<id>: prefix; anything
// else is a device request (request line, headers, blank line, body).
Decoded decode_message(std::string_view text, const DescribeContext& ctx = {});

// "C:<id>:..." lines: one command's view, or {"commands": [...]} for several.
Decoded decode_commands(std::string_view text, const DescribeContext& ctx = {});
// devicecmd result lines: {"results": [...]}.
Decoded decode_results(std::string_view text);
// "CONTROL DEVICE 01010105": a command without its "C:<id>:" prefix (the JSON API's "line"); "id" null.
Decoded decode_bare_command(std::string_view text, const DescribeContext& ctx = {});
// Whether the first line starts with a verb of the protocol and is not an HTTP request line.
bool is_bare_command(std::string_view text);

// A device request: describe_request's view with the headers after "sn" (a repeated name's values
// joined) and the token its Cookie carries. The serial number is not checked: a request a server
// would refuse for it is shown, with a note, since the decoder is where one looks to see why.
Decoded decode_request(const HttpRequestCapture& capture, const DescribeContext& ctx = {});

// A server response: {"status","reason","headers","body"}, then "commands" when the body carries
// command lines; with the endpoint of the request it answers, "answer": what the body means for
// that endpoint (describe_answer).
Decoded decode_response(const HttpResponseCapture& capture, const DescribeContext& ctx = {},
                        std::optional<Endpoint> endpoint = std::nullopt);

// The body the server answered a request of `endpoint` with (responses.hpp parse_server_answer):
// {"kind": "ok" | "init" | "registry" | "config" | "table_ack" | "commands" | "time" | "exchange" |
// "remote_auth" | "text", then its members}; {"error","where"} when the status is an error.
nlohmann::ordered_json describe_answer(Endpoint endpoint, int status, std::string_view body,
                                       const DescribeContext& ctx = {});

}  // namespace zkpush::protocol
