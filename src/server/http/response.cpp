#include "server/http/response.hpp"

#include <utility>

namespace zkpush::server::http {

Response make_response(Status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  if (!content_type.empty()) {
    res.set(boost::beast::http::field::content_type,
            boost::beast::string_view{content_type.data(), content_type.size()});
  }
  res.body() = std::move(body);
  return res;
}

ResponseHead make_stream_head(Status status, std::string_view content_type) {
  ResponseHead head;
  head.result(status);
  head.version(11);
  if (!content_type.empty()) {
    head.set(boost::beast::http::field::content_type,
             boost::beast::string_view{content_type.data(), content_type.size()});
  }
  return head;
}

}  // namespace zkpush::server::http
