// The data an emulated device holds: its tables (user, mulcarduser, userauthorize, timezone,
// holiday, templatev10, biodata, biophoto, userpic, firstcard, multimcard, inoutfun, door and reader
// parameters, ...), its options, its doors, and its event log with increasing indexes.
//
// Tables are kept generically, as records in the spelling the server sent, keyed by the key fields
// the catalogue gives for the table (schema.hpp): a DATA UPDATE of an existing key replaces the
// fields it names, a new key appends. That is how the panels behave (a second "DATA UPDATE user
// Pin=1" edits user 1) and it makes every table of the catalogue work without per-table code.
// Only what access decisions and uploads need is interpreted (access_decision.hpp, command_executor.hpp).
//
// Not thread-safe: one device, one strand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/codecs_time.hpp"
#include "protocol/commands.hpp"
#include "protocol/fields.hpp"

namespace zkpush::emulator {

// Appendix 1 codes the emulator answers with.
namespace ret {
inline constexpr int ok = 0;
inline constexpr int repeated = -7;
inline constexpr int bad_parameter = -11;
inline constexpr int execution_error = -12;
inline constexpr int unknown_command = -13;
inline constexpr int insufficient_space = -18;
inline constexpr int no_such_file = -17;
inline constexpr int checksum_error = -19;
inline constexpr int length_mismatch = -20;
inline constexpr int template_length_zero = -26;
inline constexpr int template_user_unknown = -27;
inline constexpr int no_such_table = -100;
inline constexpr int no_such_condition_field = -101;
}  // namespace ret

struct DoorState {
  bool sensor_open = false;  // door sensor: true = open
  bool relay_open = false;   // lock relay energised
  int alarm = 0;             // Appendix rtstate alarm bits
  std::int64_t relay_until = 0;  // unix seconds at which an opened relay closes again (0 = latched/none)
  bool locked = false;           // CONTROL DEVICE 06: shut for every opening until unlocked
};

// What the panel keeps of the CONTROL DEVICE actions (9.4) that are not a door's relay.
struct PanelState {
  enum class Network { wired, cellular, wifi };
  Network network = Network::wired;  // 11 switches it, 14 tests it
  int emergency = 0;                 // 07: 1 dual-on, 2 dual-off (0: none since start)
  int battery_percent = 100;         // 05 reports it
  int zigbee = 0;                    // 08: last Zigbee action (1 re-network .. 4 stop access)
  bool wiegand_test = false;         // 09: started (01/00), stopped (02)
  std::int64_t rs485_lighting = 0;   // 10: times it ran
  bool id_card_registration = false; // 12: on (BB=01) for door id_card_door until id_card_until
  int id_card_door = 0;
  std::int64_t id_card_until = 0;    // 0: no timeout
  std::int64_t subdevice_queries = 0;  // 13
  bool elevator_emergency = false;   // 15 cancels it
  // Channel-controller counters (irstate, 7.14); 16 resets them.
  int irstate = 0;
  int irsensecount = 2;
  std::int64_t incount = 0, outcount = 0, alarmcount = 0, runcount = 0;
  // 17: floors released until a unix second (0: held); 18: floors held open.
  std::map<unsigned, std::int64_t> floors_open;
  std::map<unsigned, bool> floors_normal_open;
  // SET ADSCREEN_OPTIONS (9.5.3): the latest parameters per (InOut, Area).
  std::vector<protocol::Record> adscreen;
  // The Wi-Fi networks in range, as DATA QUERY [APList] reports them (9.1.4): ecn, ssid, rssi, mac.
  std::vector<protocol::Record> access_points{
      {{"ecn", "3"}, {"ssid", "office"}, {"rssi", "-48"}, {"mac", "a4:2b:b0:10:20:30"}},
      {{"ecn", "0"}, {"ssid", "guest"}, {"rssi", "-71"}, {"mac", "a4:2b:b0:10:20:31"}}};
};

class DeviceModel {
 public:
  DeviceModel(std::string sn, protocol::Record options, int door_count);

  const std::string& sn() const noexcept { return sn_; }
  int door_count() const noexcept { return static_cast<int>(doors_.size()); }

  // ---- tables (DATA UPDATE / DELETE / COUNT / QUERY) -----------------------------------------------
  // Each returns a Return code (>= 0 ok, or ret::*). Table names in any case.
  int update(const protocol::DataUpdate& update);
  int remove(const protocol::DataDelete& del);
  // Number of matching records, or a negative Return code.
  std::int64_t count(const protocol::DataCount& count) const;
  // Matching records in upload spelling (prefix = the table's upload word, keys as the catalogue's
  // upload fields where the table has them, lower-case otherwise), ready for querydata.
  std::vector<protocol::Record> query(const protocol::DataQuery& query) const;

  // Records of a table as stored (server spelling). Empty for an unknown or empty table.
  const std::vector<protocol::Record>& rows(std::string_view table) const;
  // The first record of `table` whose `key` equals `value` (keys any case).
  const protocol::Record* find(std::string_view table, std::string_view key, std::string_view value) const;
  // Direct insertion for profiles and tests (same upsert rules as DATA UPDATE).
  int put(std::string_view table, protocol::Record record);
  // How many records the table may hold, as the panel's registration parameters state it
  // (~MaxUserCount for user, ~MaxUserFingerCount for templatev10); nullopt = no limit stated.
  // DATA UPDATE beyond it is refused whole with -18 (insufficient space).
  std::optional<std::size_t> capacity(std::string_view table) const;

  // ---- options ------------------------------------------------------------------------------------
  const protocol::Record& options() const noexcept { return options_; }
  // Any case, with or without the '~' some parameters carry ("~DeviceName").
  std::optional<std::string_view> option(std::string_view key) const;
  int option_int(std::string_view key, int fallback) const;
  void set_option(std::string_view key, std::string_view value) { options_.set(key, value); }

  // ---- doors ----------------------------------------------------------------------------------------
  DoorState& door(int number);  // 1-based; throws std::out_of_range
  const DoorState& door(int number) const;
  // The rtstate record (7.3): time, sensor, relay, alarm, door, as the device uploads it.
  protocol::Record rtstate_record(const protocol::CivilTime& now) const;

  // ---- the rest of the panel (CONTROL DEVICE 05-18) ----------------------------------------------------
  PanelState& panel() noexcept { return panel_; }
  const PanelState& panel() const noexcept { return panel_; }
  // The irstate record (7.14) of the channel counters.
  protocol::Record irstate_record() const;
  // What the Wiegand test (CONTROL DEVICE 09) reads, as testdata: type=wg, bitscount, bits, sn.
  protocol::Record wiegand_reading() const;
  // The floors userleauthorize grants `pin` (AuthorizeFloors: hex, bit 0 = floor 1); empty when none.
  std::vector<unsigned> user_floors(std::string_view pin) const;

  // ---- event log ------------------------------------------------------------------------------------
  struct Event {
    std::int64_t index = 0;
    protocol::CivilTime time;
    std::string pin = "0";
    std::string cardno = "0";
    int door = 0;   // eventaddr
    int event = 0;  // Appendix 2 code
    int inout = 0;  // 0 in, 1 out, 2 none
    int verifytype = 200;
  };
  // Appends with the next index and returns it.
  const Event& log(Event event);
  const std::vector<Event>& events() const noexcept { return events_; }
  // Drops the oldest events beyond `keep`, but never one above `acked_index` (not yet uploaded):
  // a panel's log is a ring, and an emulator running for hours must not grow without bound.
  void trim_events(std::int64_t acked_index, std::size_t keep);
  // rtlog record (7.2) and transaction record (9.1.4 / ACCOUNT) of an event.
  static protocol::Record rtlog_record(const Event& e);
  static protocol::Record transaction_record(const Event& e);  // no prefix (ACCOUNT file form)

 private:
  struct Table {
    std::string name;                 // catalogue spelling
    std::vector<protocol::Record> rows;
    // Row of each key (the key fields' values joined): a panel of 10,000 users takes a full load
    // without a scan per record.
    std::unordered_map<std::string, std::size_t> by_key;
  };
  Table* table(std::string_view name, bool create);
  const Table* table(std::string_view name) const;

  std::string sn_;
  protocol::Record options_;
  std::vector<DoorState> doors_;
  PanelState panel_;
  std::map<std::string, Table> tables_;  // key: lower-case name
  std::vector<Event> events_;
  std::int64_t last_index_ = 0;  // never reused, even after DATA DELETE transaction
};

// Whether `record` satisfies every condition (keys any case, values exact; "*" matches anything).
bool matches(const protocol::Record& record, const protocol::Record& conditions);

}  // namespace zkpush::emulator
