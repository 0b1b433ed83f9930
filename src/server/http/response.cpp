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

}  // namespace zkpush::server::http
