#include "front/files.hpp"

#include <spdlog/spdlog.h>

#include "protocol/fields.hpp"
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
  // A campaign's method-3 URL names the panel (?SN=), so that its ranges count as its progress.
  // (A HEAD sends no bytes: not counted.)
  std::string sn(method == http::Verb::get ? protocol::parse_target(request.target()).query.get_or("SN", "") : "");
  const std::string who = sn.empty() ? ip : ip + " " + protocol::text::printable(sn);
  downloads_.serve(FileStore(files_root(config_)), std::move(target), std::string(request.header("Range")), who,
                   [respond](http::Response response) { (*respond)(std::move(response)); }, std::move(sn));
}

}  // namespace zkpush::front
