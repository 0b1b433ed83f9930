// Firmware downloads (9.4.1 UPGRADE), the router's side: which file a request names and who may
// have it. The answers themselves are built by file_download.cpp on its own threads.
#include <spdlog/spdlog.h>

#include "server/device_router.hpp"
#include "server/file_download.hpp"

namespace zkpush::server {

namespace {

FileDownloads::Reply reply_to(const SharedResponder& respond) {
  return [respond](http::Response response) { (*respond)(std::move(response)); };
}

}  // namespace

// GET/HEAD /files/<name> (method 3: the device fetches the command's URL itself, in 1 MiB ranges).
// There is no SN to check a device by, so packages are served to whoever reaches /files/: they
// are vendor firmware, not secrets (docs/serve.md "Firmware files").
void DeviceRouter::on_files(const http::Request& request, const std::string& ip, const SharedResponder& respond) {
  const auto method = request.method();
  if (method != http::Verb::get && method != http::Verb::head) {
    spdlog::warn("{} {} {}: 405 only GET and HEAD", ip, request.method_string(), request.target());
    auto res = http::make_response(http::Status::method_not_allowed, "only GET and HEAD", "text/plain;charset=UTF-8");
    res.set(boost::beast::http::field::allow, "GET, HEAD");
    (*respond)(std::move(res));
    return;
  }
  auto target = file_target_from_url(request.target(), true);
  downloads_.serve(FileStore(files_root(config_)), std::move(target), std::string(request.header("Range")), ip,
                   reply_to(respond));
}

// GET /iclock/file?SN=..&url=.. (methods 1 and 2), after the device checks of every /iclock request.
// The url is the command's URL; its path names the file (file_target_from_url), and a path under
// /files/base64/ asks for the base64 text that method 1 devices decode.
void DeviceRouter::on_firmware_file(const protocol::DeviceRequest& req, const http::Request& request,
                                    const std::string& ip, const SharedResponder& respond) {
  const std::string who = ip + " " + req.sn;
  auto url = req.query.get("url");
  if (!url || url->empty()) {
    spdlog::warn("{}: 400 /iclock/file without url=", who);
    answer(respond, 400, "query parameter url missing");
    return;
  }
  auto target = file_target_from_url(*url, false);
  downloads_.serve(FileStore(files_root(config_)), std::move(target), std::string(request.header("Range")), who,
                   reply_to(respond));
}

}  // namespace zkpush::server
