// Area: what a device uploads about itself: table records (user, identitycard, templatev10,
// biophoto, ATTPHOTO, userpic, biodata...; the latest per key) and append-only logs (errorlog,
// irstate, testdata, enrolment uploads, DeviceAuthorize...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace zkpush::storage {

class DeviceDataReads {
 public:
  virtual ~DeviceDataReads() = default;
  // Ordered by device, table and key. "" for sn or table: any; limit <= 0: all.
  virtual std::vector<DeviceRecord> records(const std::string& sn, const std::string& table, std::int64_t limit) = 0;
  // The latest `limit` entries (<= 0: all), oldest first. "" for sn or kind: any.
  virtual std::vector<DeviceLogEntry> log(const std::string& sn, const std::string& kind, std::int64_t limit) = 0;
  // A page of records by id, oldest first. A record keeps its id when a re-upload replaces it, so
  // a walk by after_id meets every key once.
  virtual std::vector<DeviceRecord> record_page(const DeviceRecordFilter& filter) = 0;
  // One record, its content included.
  virtual std::optional<DeviceRecord> record(std::int64_t id) = 0;
  // A page of the log, newest first.
  virtual std::vector<DeviceLogEntry> log_page(const DeviceLogFilter& filter) = 0;
};

class DeviceDataWrites : public DeviceDataReads {
 public:
  // The latest record per key wins; binary content (photos) is kept decoded beside its metadata.
  // Counts: written (new or changed) vs. identical re-uploads (left untouched).
  virtual InsertCounts put_records(const std::vector<DeviceRecord>& records) = 0;
  virtual void append_log(const std::vector<DeviceLogEntry>& entries) = 0;
};

}  // namespace zkpush::storage
