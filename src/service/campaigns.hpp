// Firmware and resource campaigns (docs/serve.md "Firmware campaigns"): one file of the files
// folder sent by UPGRADE (9.4.1) to a set of panels, each with the method it supports, through the
// command queue. A panel's progress is its command's state, and while the command is out, the
// bytes of the file this server sent that panel (DownloadProgress, in memory).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/fields.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

// The method "auto" picks for a panel from its parameters: 3 (ranged download) when it announced
// SubcontractingUpgradeFunOn=1; else 1 (base64 emfw.cfg) for a controller of Appendix 7
// (MachineType 1 to 99: C3, C4, inBio...), which the manual says method 1 is for; else 2.
int choose_upgrade_method(const protocol::Record& options);

// The URL a panel is sent for `file` (a name without '/') under `url_base` ("http://host:port"):
// /files/<file> (method 2), /files/base64/<file> (method 1: the server encodes), and for method 3
// /files/<file>?SN=<sn>, since a ranged GET carries no serial number otherwise and the bytes are
// counted per panel.
std::string upgrade_url(const std::string& url_base, const std::string& file, int method, const std::string& sn);

// Bytes of each file sent to each panel, as the download endpoints report them (any thread).
class DownloadProgress {
 public:
  void add(const std::string& sn, const std::string& file, std::uint64_t bytes);
  std::uint64_t bytes(const std::string& sn, const std::string& file) const;
  // A new campaign for the panel starts counting from zero.
  void reset(const std::string& sn, const std::string& file);

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> bytes_;
};

struct NewCampaign {
  std::string file;
  std::uint64_t size = 0;
  std::string md5;
  std::string method = "auto";  // "auto", "1", "2", "3"
  std::string type = "1";       // method 2's type=
  std::string url_base;
  std::string created_by;
  std::vector<std::string> devices;  // serial numbers; {"*"}: every approved device
};

class Campaigns {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  Campaigns(storage::Store& store, const Clock& clock, CommandQueue& queue, Devices& devices)
      : store_(store), clock_(clock), queue_(queue), devices_(devices) {}

  // Checks every panel (not_found for an unknown one, invalid for none), builds each one's UPGRADE,
  // and writes the campaign with its commands in one unit of work; the campaign as stored.
  void create(NewCampaign request, Reply<storage::Campaign> done);
  // Marks the campaign cancelled and cancels its commands not yet sent (those sent stay as they
  // are: the panel may be downloading). The campaign afterwards.
  void cancel(std::int64_t id, Reply<storage::Campaign> done);

  DownloadProgress& progress() noexcept { return progress_; }
  const DownloadProgress& progress() const noexcept { return progress_; }

 private:
  struct CancelWalk {
    std::int64_t id = 0;
    std::vector<std::int64_t> ids;
    std::size_t next = 0;
    Reply<storage::Campaign> done;
  };
  void cancel_next(std::shared_ptr<CancelWalk> walk);

  storage::Store& store_;
  const Clock& clock_;
  CommandQueue& queue_;
  Devices& devices_;
  DownloadProgress progress_;
};

}  // namespace zkpush::service
