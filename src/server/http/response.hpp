// What the handler answers with: a Beast response with a string body.
//
// The transport completes it before writing: Date (GMT, devices set their clock from it),
// Server: zkpush unless the handler set one, Content-Length from the body (never chunked, never
// close-delimited), Connection, the request's HTTP version, and no body for HEAD, 204 and 304.
// The handler sets the status, Content-Type, any other field, and the body.
//
// A streamed response (Responder::stream) starts from a ResponseHead, completed the same way
// except for the framing: "Transfer-Encoding: chunked", or a close-delimited body for HTTP/1.0
// (see stream.hpp). Content-Length and Transfer-Encoding set by the handler are replaced.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace zkpush::server::http {

using Status = boost::beast::http::status;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using ResponseHead = boost::beast::http::response_header<>;

Response make_response(Status status, std::string body = {},
                       std::string_view content_type = "text/plain");

// The head of a streamed response, e.g. make_stream_head(Status::ok, "text/event-stream").
ResponseHead make_stream_head(Status status, std::string_view content_type);

}  // namespace zkpush::server::http
