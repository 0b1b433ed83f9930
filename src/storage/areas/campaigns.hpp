// Area: firmware and resource campaigns (UPGRADE of one file on a set of panels) and one row per
// panel naming the command queued for it. A panel's state is not kept here: it is its command's
// (storage/areas/commands.hpp), read with the row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::storage {

struct CampaignTarget {
  std::int64_t campaign_id = 0;
  std::string sn;
  std::int64_t command_id = 0;  // the UPGRADE in the command queue
  int method = 0;               // 1, 2 or 3 (9.4.1)
  std::string url;              // as written in the command
  bool operator==(const CampaignTarget&) const = default;
};

struct Campaign {
  std::int64_t id = 0;
  std::string file;          // name in the files folder
  std::uint64_t size = 0;    // of the file when the campaign started
  std::string md5;           // lower-case hex, written in each command
  std::string method;        // as asked: "auto", "1", "2" or "3"
  std::string type;          // method 2's type= ("1": firmware)
  std::string url_base;      // "http://host:port" the URLs start with
  std::string created_by;    // the API caller, as the audit log names it
  std::int64_t created_at = 0;
  std::int64_t cancelled_at = 0;  // 0: not cancelled
  std::vector<CampaignTarget> targets;  // by serial number
  bool operator==(const Campaign&) const = default;
};

class CampaignReads {
 public:
  virtual ~CampaignReads() = default;
  // Newest first, before `before_id` (0: from the newest), at most `limit` (0: all); with targets.
  virtual std::vector<Campaign> list(std::int64_t before_id, std::int64_t limit) = 0;
  virtual std::optional<Campaign> get(std::int64_t id) = 0;
};

class CampaignWrites : public CampaignReads {
 public:
  // The campaign and its targets; its id (targets' campaign_id is set from it).
  virtual std::int64_t insert(const Campaign& campaign) = 0;
  // Whether the campaign exists; a cancelled one keeps its first cancelled_at.
  virtual bool cancel(std::int64_t id, std::int64_t at) = 0;
};

}  // namespace zkpush::storage
