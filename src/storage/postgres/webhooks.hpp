// Webhooks (storage/areas/webhooks.hpp) in the webhooks and webhook_dead_letters tables.
#pragma once

#include "storage/areas/webhooks.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Webhooks final : public WebhookWrites {
 public:
  explicit Webhooks(Connection& c) : c_(c) {}
  std::vector<Webhook> all() override;
  std::optional<Webhook> get(std::int64_t id) override;
  std::vector<DeadLetter> dead_letters(std::int64_t webhook_id, std::int64_t before_id, std::int64_t limit,
                                       bool only_redeliver) override;
  std::int64_t insert(const Webhook& webhook) override;
  bool remove(std::int64_t id) override;
  void progress(const WebhookProgress& progress) override;
  std::int64_t redeliver(std::int64_t webhook_id, const std::vector<std::int64_t>& ids) override;

 private:
  Connection& c_;
};

}  // namespace zkpush::storage::postgres
