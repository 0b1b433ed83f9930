// The /files/ peer of the front: firmware packages published in the files folder, GET/HEAD with
// Range (9.4.1 UPGRADE method 3: the device fetches the command's URL itself, in 1 MiB ranges).
// There is no serial number to check a device by, so only the network part of the allow-list
// applies; packages are vendor firmware, not secrets (docs/serve.md "Firmware files").
#pragma once

#include "front/access_list.hpp"
#include "front/file_download.hpp"
#include "front/peer.hpp"

namespace zkpush::front {

class FileEndpoints : public Peer {
 public:
  FileEndpoints(const ServerConfig& config, FileDownloads& downloads)
      : config_(config), downloads_(downloads), access_(config.allow_sn, config.allow_net) {}
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override;

 private:
  const ServerConfig& config_;
  FileDownloads& downloads_;
  DeviceAccess access_;
};

}  // namespace zkpush::front
