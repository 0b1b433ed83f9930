// The sync engine: keeps every panel's tables equal to the access domain.
//
//   desired   For each panel, a pure function of the domain: one "person" item per person holding a
//             level with a door on the panel (its user row, cards and authorisations there), one
//             "timerule" item per time rule such a level uses, one "holidays" item with every
//             holiday row (the manual deletes holidays only all at once). Written in the unit of work of the
//             domain change that causes it (plan_person, plan_panel): when an API call returns, the
//             panel's pending count already holds the work.
//   applied   What the panel is known to hold: a desired content becomes applied when every command
//             carrying it was answered with success.
//   reconcile When a panel polls and nothing of the engine is in flight for it, its due items become
//             the fewest DATA commands (plan_commands: records of many persons packed per table,
//             deletes before the updates that re-add, time rules before the authorisations that use
//             them), queued as bulk work behind door and control commands, inside the delivery's
//             unit of work. Changes that arrive meanwhile wait for the answers and then fold into
//             the next round; a panel's changes also settle for `settle_seconds` first, so a burst of
//             API calls becomes one round.
//   answers   A multi-record command that fails is split: its items go again in commands half as
//             large, down to one, so one bad record never blocks the rest; an item that fails alone
//             is failed with the panel's Return value and retried with backoff.
//
//   checks  What a panel holds is read before the engine first writes to it (DATA QUERY user), when
//             the operator asks (verify: users, and the template tables it was given), and when its
//             periodic DATA COUNT user differs from what it should hold: users or templates it lost
//             are sent again, a panel holding far fewer than it
//             should (reset) gets a full load, users the domain does not know are listed as
//             unmanaged and left alone.
//
// Never wipe: a panel that holds no door of any level gets nothing; a person leaving a panel is
// removed by pin, and nothing the engine did not write is deleted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/commands.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

struct SyncOptions {
  std::int64_t settle_seconds = 1;        // a panel's changes are sent once quiet this long
  std::size_t records_per_command = 100;  // at most, and
  std::size_t bytes_per_command = 16384;  // at most this long (or the panel's MaxPackageSize, if smaller)
  std::int64_t items_per_round = 5000;    // items turned into commands per poll
  std::int64_t retry_base = 30;           // seconds before the first retry of a failed item, doubling
  std::int64_t retry_max = 3600;
  std::int64_t verify_seconds = 86400;    // a panel's user count is checked this often (0: never)
};

// What a panel's registration says it can take.
struct PanelCaps {
  bool multi_card = false;   // AccSupportFunList[7]: cards in mulcarduser (MulCardUserFunOn=1)
  bool one_door = false;     // AccSupportFunList[15]: AuthorizeDoorId is one door
  bool date_zktime = false;  // DateFmtFunOn=1: StartTime/EndTime in Appendix 5 seconds
  bool string_pin = false;   // StringPinFunOn=1: pins may hold letters (else digits only)
  std::size_t max_package = 0;  // MaxPackageSize, 0 unknown
  // Credentials: biodata types it takes (MultiBioDataSupport) with their algorithm major versions
  // (MultiBioVersion, 0 = not stated), photo types (MultiBioPhotoSupport), fingerprint templates
  // in templatev10 (FingerFunOn=1), user photos (PhotoFunOn=1).
  std::array<bool, 11> bio_data{};
  std::array<std::int64_t, 11> bio_version{};
  std::array<bool, 11> bio_photo{};
  bool fingerprint_v10 = false;
  bool user_photo = false;
};

// The table a credential goes to on a panel: biodata where the panel takes its type (and version),
// else templatev10 for a version-10 fingerprint on a panel with FingerFunOn, biophoto / userpic
// for photos the panel takes; "" when the panel cannot hold it (it is not sent there).
std::string credential_table(const storage::Credential& credential, const PanelCaps& caps);
PanelCaps panel_caps(const protocol::Record& options);

// ---- pure parts (tested alone) --------------------------------------------------------------------

// A person's canonical content on a panel, given the levels that have a door there; nullopt when
// none of the person's levels does (the panel should not hold the person).
std::optional<std::string> person_content(const storage::Person& person,
                                          const std::vector<storage::AccessLevel>& levels_on_panel,
                                          const std::string& sn);
std::string rule_content(const storage::TimeRule& rule);
// The dates a holiday covers, "YYYYMMDD" as the manual's holiday row names them (at most 367: a
// longer range is refused by the access service before it gets here).
std::vector<std::string> holiday_dates(const storage::Holiday& holiday);
// Every holiday as the panel's rows (date, type, Loop), by date; "[]" when there is none.
std::string holidays_content(const std::vector<storage::Holiday>& holidays);

struct PlannedCommand {
  protocol::Command command;           // built and checked by the protocol builders (id 0)
  std::vector<storage::SyncKey> items; // what it carries
};
// The commands that take the panel from each item's applied content to its desired one, in the
// order they must run. Items that were in a command that failed (batch > 0) go at most `batch`
// records per command. A record the protocol cannot carry (refused by its builders) is not sent:
// its item is in `invalid` with the reason, and no other record of it is sent either.
struct Plan {
  std::vector<PlannedCommand> commands;
  std::vector<std::pair<storage::SyncKey, std::string>> invalid;
};
// Credential contents by id (templates and photos are not kept in the sync contents, only their
// digests): what plan_commands needs for the credentials it sends.
using CredentialContents = std::map<std::int64_t, std::string>;
Plan plan_commands(const std::vector<storage::SyncItem>& items, const PanelCaps& caps, const SyncOptions& options,
                   const CredentialContents& contents = {});

// ---- the engine ------------------------------------------------------------------------------------

struct SyncStatus {
  storage::SyncCounts counts;
  std::vector<storage::SyncItem> failures;
  storage::SyncPanel panel;
  std::vector<storage::SyncKey> unmanaged;
};

// What a panel told a check (DATA COUNT / DATA QUERY user), against what the engine knows.
struct CheckFinding {
  std::vector<std::string> unmanaged;  // pins it holds that the domain does not manage there
  std::vector<std::string> lost;       // pins known applied that it no longer holds
  bool reset = false;                  // it holds far fewer than known applied: full load
  std::string summary;
};
// `held`: the pins the panel reported; `items`: its person items.
CheckFinding compare_users(const std::vector<std::string>& held, const std::vector<storage::SyncItem>& items);

class Sync final : public CommandSource {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  Sync(storage::Store& store, const Clock& clock, CommandQueue& queue, SyncOptions options = {});

  // Start-up: which panels have work (blocking).
  storage::StoreStatus load();

  // ---- in a domain change's unit of work ----
  // The person's items on these panels (the panels of its levels before and after the change).
  static void plan_person(storage::Transaction& tx, const std::string& pin, const std::vector<std::string>& panels,
                          std::int64_t now);
  // The same for a person already read with its levels (an import: levels read once for many);
  // `person` null = deleted.
  static void plan_person_with(storage::Transaction& tx, const storage::Person* person,
                               const std::vector<storage::AccessLevel>& levels, const std::vector<std::string>& panels,
                               std::int64_t now, const std::string& deleted_pin = {});
  // Every item of the panel (levels or time rules changed).
  static void plan_panel(storage::Transaction& tx, const std::string& sn, std::int64_t now);
  // The panel's holiday rows (holidays changed): on every panel of the domain, on no other.
  static void plan_holidays(storage::Transaction& tx, const std::string& sn, std::int64_t now);
  // The panels of these levels' doors.
  static std::vector<std::string> panels_of(storage::Transaction& tx, const std::vector<std::int64_t>& levels);
  // After such a unit of work committed: the panels it planned for.
  void changed(const std::vector<std::string>& panels);

  // ---- operator ----
  void status(const std::string& sn, Reply<SyncStatus> done) const;
  // Every panel's counts (pending, applied, failed, commands, in flight) in one read: the panels the
  // engine has records, commands or checks for.
  void overview(Reply<std::vector<storage::PanelSyncCounts>> done) const;
  // The person's record on each panel that has one (should hold it, holds it, or is dropping it),
  // by serial number; nullopt when the domain has no such person and no panel a record of it (a
  // deleted person is listed until every panel has dropped it).
  void person_status(const std::string& pin, Reply<std::optional<std::vector<storage::SyncItem>>> done) const;
  // A reconcile now; `clear`: forget what the panel holds and send it all again.
  void resync(const std::string& sn, bool clear, Reply<storage::Unit> done);
  // Reads what the panel holds (DATA QUERY user) at its next poll, before anything else of the
  // engine, and repairs what differs: missing records re-sent, a reset panel fully loaded,
  // unknown ones listed as unmanaged.
  void verify(const std::string& sn, Reply<storage::Unit> done);
  // A replaced panel: `to` takes over the doors, levels and sync of `from`.
  void replace(const std::string& from, const std::string& to, Reply<storage::Unit> done);

  // ---- CommandSource ----
  bool has_work(const std::string& sn) const override;
  std::int64_t generate(storage::Transaction& tx, const std::string& sn, std::int64_t now) override;
  void generated(const std::string& sn, bool ok) override;
  void closed(storage::Transaction& tx, const storage::CommandRow& row, std::int64_t now) override;
  void after_closed(const std::string& sn, bool ok) override;

 private:
  // What the panel should do next, read inside a unit of work: nullopt = nothing (in flight, or
  // no work), else due at (0 = now).
  std::optional<std::int64_t> next_due(storage::Transaction& tx, const std::string& sn) const;
  // Queues a check of the panel if one is due; whether it did.
  bool start_check(storage::Transaction& tx, const std::string& sn, bool has_items, std::int64_t now);
  void finish_check(storage::Transaction& tx, const storage::CommandRow& row, const std::string& kind, std::int64_t now);
  void finish_template_check(storage::Transaction& tx, const storage::CommandRow& row, const std::string& table,
                             std::int64_t now);
  static void plan_holidays(storage::Transaction& tx, const std::string& sn, std::int64_t now, bool in_domain);
  void stage(const std::string& sn, std::optional<std::int64_t> due);
  void apply_staged(const std::string& sn, bool ok);

  storage::Store& store_;
  const Clock& clock_;
  CommandQueue& queue_;
  SyncOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::int64_t> due_;                    // panel -> unix time it may reconcile
  std::map<std::string, std::int64_t> told_;                   // panel -> when its progress was last a message
  static constexpr std::int64_t kProgressEvery = 5;
  // A "sync" message of the panel's counts (the stream, webhooks, MQTT), in the closing unit of work.
  void tell_progress(storage::Transaction& tx, const std::string& sn, std::int64_t now);
  std::map<std::string, std::optional<std::int64_t>> staged_;  // decided in a unit of work, applied after it
};

}  // namespace zkpush::service
