// Ingest: what devices upload, turned into what the store keeps. Events (rtlog, and transaction
// records recovered by ACCOUNT or DATA QUERY), door state, the device's own tables and logs, and the
// data a device uploads for one of our commands. Each upload is one unit of work: it is durable as a
// whole before the device is answered, or not at all.
//
// The mapping from records to rows is pure (the free functions below), so it can be tested without a
// store and reused by whoever else turns records into rows (the sync engine reading a panel's tables).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/fields.hpp"
#include "service/clock.hpp"
#include "service/live.hpp"
#include "service/devices.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

class Access;
class SubControllers;

// An rtlog record (7.2) or a transaction record (ACCOUNT / DATA QUERY transaction, 9.2) as an event.
// time_local is normalised to "YYYY-MM-DD HH:MM:SS" (it is part of the store's dedupe key); time_utc
// comes from the device's zone (minutes east of UTC).
storage::NewEvent event_from_record(const protocol::Record& record, const std::string& sn, int tz_minutes,
                                    const char* source, std::int64_t now);
// The catalogue's key fields of the table (templatev10: Pin/FingerID, biodata: Pin/Type/No/Index...)
// joined by '/': a re-upload of the same key replaces the stored record. ATTPHOTO has no key in the
// catalogue; its pin is the photo's file name. A table we do not know, or a record missing a key
// field, is keyed by the whole record (identical re-uploads still fold).
std::string record_key(const std::string& table, const protocol::Record& record);
// A table record as a device record: keyed, and its photo (decoded) or template (base64 as sent)
// moved to `content`.
storage::DeviceRecord device_record_from(const std::string& sn, const std::string& table,
                                         const protocol::Record& record, std::int64_t now);

// Data a device uploads for a command (querydata with cmdid=, /iclock/file parts).
struct CommandUpload {
  std::string sn;
  std::string kind;      // count, tabledata, options, account, overview, file
  std::string cmdid;     // as sent
  std::string table;
  std::int64_t packidx = 0;
  std::int64_t packcnt = 0;
  std::int64_t announced = -1;  // count= of an archive, -1 = not given
  std::string body;             // as received
  std::vector<protocol::Record> records;
  std::size_t archive_bytes = 0;
};

struct UploadOutcome {
  bool command_known = false;
  storage::InsertCounts events;  // transaction records inserted / already stored
  std::size_t records = 0;
};

class Ingest {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  Ingest(storage::Store& store, Devices& devices, const Clock& clock);
  // Users a panel uploads join the access domain under its enrolment policy (access.hpp).
  void set_access(Access* access) noexcept { access_ = access; }
  // A master's DeviceAuthorize uploads go to the sub-controllers (multi-level control).
  void set_sub_controllers(SubControllers* subs) noexcept { subs_ = subs; }
  // Rung after a commit that stored new events (the API's stream reads them then).
  void set_live(Live* live) noexcept { live_ = live; }

  void rtlog(const std::string& sn, const std::vector<protocol::Record>& records, Reply<storage::InsertCounts> done);
  void rtstate(const std::string& sn, const std::vector<protocol::Record>& records, storage::Store::Done done);
  void table_records(const std::string& sn, const std::string& table, const std::vector<protocol::Record>& records,
                     Reply<storage::InsertCounts> done);
  void device_log(const std::string& sn, const std::string& kind, const std::vector<protocol::Record>& records,
                  storage::Store::Done done);
  // Kept with its command (found by wire id); transaction records become events, GET OPTIONS answers
  // device parameters, and an ACCOUNT archive arriving after the command's answer updates its result.
  // Without a known command the data is not kept, but transaction records are still events.
  void command_upload(CommandUpload upload, Reply<UploadOutcome> done);

 private:
  Live* live_ = nullptr;
  int tz_of(const std::string& sn) const;

  storage::Store& store_;
  Devices& devices_;
  const Clock& clock_;
  Access* access_ = nullptr;
  SubControllers* subs_ = nullptr;
};

}  // namespace zkpush::service
