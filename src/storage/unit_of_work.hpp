// What a unit of work sees of the store: every area, read-only in a read, read-write in a write.
//
// A write's job runs inside one transaction: everything it does through the areas becomes durable
// together, or not at all (a Refused or any other exception undoes the whole job). That is how one
// write spans areas ("a person changed, and the commands that tell the panels, queued").
#pragma once

#include "storage/areas/access.hpp"
#include "storage/areas/audit.hpp"
#include "storage/areas/campaigns.hpp"
#include "storage/areas/commands.hpp"
#include "storage/areas/device_data.hpp"
#include "storage/areas/devices.hpp"
#include "storage/areas/door_states.hpp"
#include "storage/areas/events.hpp"
#include "storage/areas/messages.hpp"
#include "storage/areas/sync.hpp"
#include "storage/areas/tokens.hpp"
#include "storage/areas/webhooks.hpp"

namespace zkpush::storage {

// A consistent view for reads.
class Reads {
 public:
  virtual ~Reads() = default;
  virtual DeviceReads& devices() = 0;
  virtual EventReads& events() = 0;
  virtual DoorStateReads& door_states() = 0;
  virtual DeviceDataReads& device_data() = 0;
  virtual CommandReads& commands() = 0;
  virtual AccessReads& access() = 0;
  virtual SyncReads& sync() = 0;
  virtual TokenReads& tokens() = 0;
  virtual MessageReads& messages() = 0;
  virtual WebhookReads& webhooks() = 0;
  virtual AuditReads& audit() = 0;
  virtual CampaignReads& campaigns() = 0;
};

// A write in progress. Its reads see its own writes.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual DeviceWrites& devices() = 0;
  virtual EventWrites& events() = 0;
  virtual DoorStateWrites& door_states() = 0;
  virtual DeviceDataWrites& device_data() = 0;
  virtual CommandWrites& commands() = 0;
  virtual AccessWrites& access() = 0;
  virtual SyncWrites& sync() = 0;
  virtual TokenWrites& tokens() = 0;
  virtual MessageWrites& messages() = 0;
  virtual WebhookWrites& webhooks() = 0;
  virtual AuditWrites& audit() = 0;
  virtual CampaignWrites& campaigns() = 0;
};

}  // namespace zkpush::storage
