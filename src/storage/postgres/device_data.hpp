// What a device uploads about itself: table records (device_records, latest per key) and
// append-only logs (device_log).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/postgres/database.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::postgres::device_data {

InsertCounts put_records(Connection& c, const std::vector<DeviceRecord>& records);
// Ordered by device, table and key. "" for sn or table: any; limit <= 0: all.
std::vector<DeviceRecord> list_records(Connection& c, const std::string& sn, const std::string& table,
                                       std::int64_t limit);
// Newest first (DeviceDataReads::log_page).
std::vector<DeviceLogEntry> log_page(Connection& c, const DeviceLogFilter& filter);
// By id, oldest first (DeviceDataReads::record_page); one by id, content included.
std::vector<DeviceRecord> record_page(Connection& c, const DeviceRecordFilter& filter);
std::optional<DeviceRecord> record(Connection& c, std::int64_t id);

void append_log(Connection& c, const std::vector<DeviceLogEntry>& entries);
// The latest `limit` entries (<= 0: all), oldest first. "" for sn or kind: any.
std::vector<DeviceLogEntry> list_log(Connection& c, const std::string& sn, const std::string& kind,
                                     std::int64_t limit);

}  // namespace zkpush::storage::postgres::device_data
