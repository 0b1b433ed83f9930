// Devices and their parameters (tables devices, device_options).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::sqlite::devices {

// Reads (any connection).
std::vector<Device> load_all(Connection& c);
std::optional<Device> get(Connection& c, const std::string& sn);
// Without options and registry (DeviceReads::get_row).
std::optional<Device> get_row(Connection& c, const std::string& sn);
std::int64_t count(Connection& c);
std::vector<DevicePresence> presence(Connection& c);
// The device's parameters with their sources, by key (without case: the column's collation).
std::vector<DeviceOption> options(Connection& c, const std::string& sn);

// Writes (the writer's connection, inside a job).
void save(Connection& c, const Device& device);
// Throws Refused(not_found) for an unknown device, Refused(invalid) for a malformed time zone.
void update_settings(Connection& c, const std::string& sn, const DeviceSettings& settings);
void merge_options(Connection& c, const std::string& sn, const protocol::Record& options, const std::string& source,
                   std::int64_t now);
void touch(Connection& c, const std::vector<DevicePresence>& presence);
void remove(Connection& c, const std::string& sn);
// Multi-level control (table sub_controllers).
std::optional<SubController> sub_controller(Connection& c, const std::string& sn);
std::vector<SubController> sub_controllers(Connection& c, const std::string& master_sn);
// Throws Refused(not_found) unless both devices exist.
void save_sub_controller(Connection& c, const SubController& sub);
// Throws Refused(not_found) unless the device exists.
void require(Connection& c, const std::string& sn, const char* what);

}  // namespace zkpush::storage::sqlite::devices
