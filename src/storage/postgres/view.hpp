// The areas of storage/unit_of_work.hpp over one PostgreSQL connection: the writer's inside a write
// transaction, or a reader's inside a read transaction (one snapshot for the whole unit of work).
// Each area forwards to the SQL of its own file (devices.cpp, events.cpp, door_state.cpp,
// device_data.cpp, commands.cpp).
#pragma once

#include <memory>

#include "storage/postgres/database.hpp"
#include "storage/unit_of_work.hpp"

namespace zkpush::storage::postgres {

class View final : public Reads, public Transaction {
 public:
  // writing: inside the writer's transaction (the command queue then locks the rows it reads).
  View(Connection& c, bool writing);
  ~View() override;
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // One override each serves both the read-only and the read-write view (covariant returns).
  DeviceWrites& devices() override;
  EventWrites& events() override;
  DoorStateWrites& door_states() override;
  DeviceDataWrites& device_data() override;
  CommandWrites& commands() override;
  AccessWrites& access() override;
  SyncWrites& sync() override;
  TokenWrites& tokens() override;
  MessageWrites& messages() override;
  WebhookWrites& webhooks() override;
  AuditWrites& audit() override;
  CampaignWrites& campaigns() override;

 private:
  struct Areas;
  std::unique_ptr<Areas> areas_;
};

}  // namespace zkpush::storage::postgres
