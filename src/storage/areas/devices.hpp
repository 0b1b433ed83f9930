// Area: devices and their parameters.
//
// The row has two owners (see Device in storage/types.hpp): save() writes the device-side columns
// and update_settings() the operator's, each against the row as stored when it runs, so neither can
// undo the other. These rules live here, in the backend, and nowhere else: callers that keep a copy
// (the device service's cache) read the row back after writing it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/fields.hpp"
#include "storage/types.hpp"

namespace zkpush::storage {

class DeviceReads {
 public:
  virtual ~DeviceReads() = default;
  // Every device, options included, ordered by serial number.
  virtual std::vector<Device> all() = 0;
  virtual std::optional<Device> get(const std::string& sn) = 0;
  // The row without its parameters: options and registry are left empty. What a device-side write
  // reads back to learn the operator's columns as stored, without decoding dozens of parameters
  // the writer already knows (a registration burst is thousands of these on the writer thread).
  virtual std::optional<Device> get_row(const std::string& sn) = 0;
  virtual std::int64_t count() = 0;
  // Every device's last_seen as stored, by serial number (ip left empty): what every node saw, for
  // the node that tells when devices come online and go offline (several nodes on one store).
  virtual std::vector<DevicePresence> presence() = 0;
  // The device's parameters with their sources, ordered as Device::options (by key, without case);
  // empty for an unknown device.
  virtual std::vector<DeviceOption> options(const std::string& sn) = 0;
  // Multi-level control: one sub-controller, or those of a master ("" = every one), by serial number.
  virtual std::optional<SubController> sub_controller(const std::string& sn) = 0;
  virtual std::vector<SubController> sub_controllers(const std::string& master_sn) = 0;
};

class DeviceWrites : public DeviceReads {
 public:
  // The device's own write (init, registry, push...). A new row is inserted whole; an existing row
  // gets the device-side fields only: time_zone and config stay as stored and approved never goes
  // back from true to false (the given row may be a copy read before the operator changed them).
  // first_seen keeps the earliest and last_seen the latest of the stored and given values. An empty
  // registry keeps the stored one (the device cache does not hold registrations: only a registry
  // request brings a new one). Options are not part of the row (merge_options); the command counter
  // is never reset.
  virtual void save(const Device& device) = 0;
  // The operator's write (API approve, PATCH): only the fields present in `settings`, applied to the
  // row as stored (apply_settings), never touching device-side columns. Refused: not_found for an
  // unknown device, invalid for a time zone other than "" / "+hhmm" / "-hhmm" or an empty key.
  virtual void update_settings(const std::string& sn, const DeviceSettings& settings) = 0;
  // Merges device parameters by the rule of storage::merge_options (types.hpp): latest value wins
  // per key, keys compared without case and without a leading '~' (the latest spelling is kept);
  // bare keys without a value are skipped. `source` says
  // where they came from ("registry", "options", "get_options"). Refused (not_found) for an unknown
  // device.
  virtual void merge_options(const std::string& sn, const protocol::Record& options, const std::string& source,
                             std::int64_t now) = 0;
  // last_seen (never moved backwards) and address (an empty one keeps the known address) per
  // device. Unknown devices are skipped.
  virtual void touch(const std::vector<DevicePresence>& presence) = 0;
  // Forgets a device: its row, parameters, commands, door state, uploaded records and log, and its
  // sync state and door settings, its sub-controller row and those naming it as master (the
  // sub-controllers' own device rows stay). Its access events and the message log stay (history). Refused:
  // not_found for an unknown device, conflict while access levels name its doors.
  virtual void remove(const std::string& sn) = 0;
  // Writes a sub-controller row whole (its master may change: a sub-controller moved to another
  // master), keeping the earliest first_seen. Both devices must exist (not_found).
  virtual void save_sub_controller(const SubController& sub) = 0;
};

}  // namespace zkpush::storage
