// Campaigns (storage/areas/campaigns.hpp) in the campaigns and campaign_targets tables.
#pragma once

#include "storage/areas/campaigns.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Campaigns final : public CampaignWrites {
 public:
  explicit Campaigns(Connection& c) : c_(c) {}
  std::vector<Campaign> list(std::int64_t before_id, std::int64_t limit) override;
  std::optional<Campaign> get(std::int64_t id) override;
  std::int64_t insert(const Campaign& campaign) override;
  bool cancel(std::int64_t id, std::int64_t at) override;

 private:
  // Fills in the targets of every campaign given.
  void read_targets(std::vector<Campaign>& campaigns);
  Connection& c_;
};

}  // namespace zkpush::storage::postgres
