#include "front/files.hpp"

#include <spdlog/spdlog.h>

#include "protocol/text.hpp"

namespace zkpush::front {

void FileEndpoints::handle(http::Request& request, const std::string&, const SharedResponder& respond) {
  const std::string ip = request.remote.address().to_string();
  if (auto refused = access_.check_network(ip)) return answer(respond, 403, *refused);
  const auto method = request.method();
  if (method != http::Verb::get && method != http::Verb::head) {
    spdlog::warn("{} {} {}: 405 only GET and HEAD", ip, request.method_string(),
                 protocol::text::printable(request.target()));
    auto res = http::make_response(http::Status::method_not_allowed, "only GET and HEAD", "text/plain;charset=UTF-8");
    res.set(boost::beast::http::field::allow, "GET, HEAD");
    (*respond)(std::move(res));
    return;
  }
  auto target = file_target_from_url(request.target(), true);
  downloads_.serve(FileStore(files_root(config_)), std::move(target), std::string(request.header("Range")), ip,
                   [respond](http::Response response) { (*respond)(std::move(response)); });
}

}  // namespace zkpush::front
