// The sync engine's tables (storage/areas/sync.hpp): sync_items, sync_sends, sync_panels.
#pragma once

#include "storage/areas/sync.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Sync final : public SyncWrites {
 public:
  explicit Sync(Connection& c) : c_(c) {}

  std::optional<SyncItem> item(const SyncKey& id) override;
  std::vector<SyncItem> items(const std::string& sn, const std::string& kind) override;
  SyncCounts counts(const std::string& sn) override;
  std::vector<PanelSyncCounts> panel_counts() override;
  std::vector<SyncItem> items_on_panels(const std::string& kind, const std::string& key) override;
  std::vector<SyncItem> failures(const std::string& sn, std::int64_t limit) override;
  std::vector<std::pair<std::string, std::int64_t>> due_panels() override;
  std::optional<std::int64_t> next_due(const std::string& sn) override;
  std::vector<SyncKey> carried_by(std::int64_t command_id) override;
  std::vector<SyncKey> carried_alone(std::int64_t command_id) override;
  std::int64_t sends_of(const SyncKey& id) override;
  bool in_flight(const std::string& sn) override;
  SyncPanel panel(const std::string& sn) override;
  std::vector<std::pair<std::string, std::int64_t>> checked_panels() override;
  std::int64_t applied_count(const std::string& sn, const std::string& kind) override;
  std::vector<SyncKey> unmanaged(const std::string& sn) override;

  void put_desired(const SyncKey& id, const std::optional<std::string>& desired, std::int64_t now) override;
  void update(const SyncItem& item) override;
  void mark_sending(std::int64_t command_id, std::int64_t now) override;
  std::vector<SyncKey> settle_sent(std::int64_t command_id, std::int64_t now) override;
  std::vector<SyncItem> due(const std::string& sn, std::int64_t now, std::int64_t limit) override;
  void link(std::int64_t command_id, const std::vector<SyncKey>& items) override;
  void unlink(std::int64_t command_id) override;
  void count_commands(const std::string& sn, std::int64_t queued) override;
  void forget_applied(const std::string& sn, std::int64_t now) override;
  void set_check(const std::string& sn, std::int64_t checked_at, bool wanted, const std::string& result) override;
  void set_unmanaged(const std::string& sn, const std::string& kind, const std::vector<std::string>& keys) override;
  void move_panel(const std::string& from, const std::string& to, std::int64_t now) override;

 private:
  Connection& c_;
};

}  // namespace zkpush::storage::postgres
