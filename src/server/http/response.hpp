// What the handler answers with: a Beast response with a string body.
//
// The transport completes it before writing: Date (GMT, devices set their clock from it),
// Server: zkpush unless the handler set one, Content-Length from the body (never chunked, never
// close-delimited), Connection, the request's HTTP version, and no body for HEAD, 204 and 304.
// The handler sets the status, Content-Type, any other field, and the body.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace zkpush::server::http {

using Status = boost::beast::http::status;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

Response make_response(Status status, std::string body = {},
                       std::string_view content_type = "text/plain");

}  // namespace zkpush::server::http
