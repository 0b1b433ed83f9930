// Multi-level control (manual 5, Appendix 15): the sub-controllers a master reports in its
// DeviceAuthorize table, and the two-step authorization.
//
//   master uploads DeviceAuthorize (IsAuthorize=0) ──► sub-controller kept (and a devices row for it)
//   operator authorizes (or automatic registration) ─► DATA UPDATE DeviceAuthorize SN=<sub> IsAuthorize=1
//   master uploads the sub's RegisterInfo ───────────► DATA UPDATE DeviceAuthorize SN=<sub> IsAuthorize=2
//   master reports IsAuthorize=2 ────────────────────► authorized: commands for the sub are accepted
//   operator de-authorizes ──────────────────────────► DATA DELETE DeviceAuthorize SN=<sub>
//
// Step one is known to be complete when the master's table shows the sub's RegisterInfo (the manual:
// the master pushes it as soon as the sub registered); the answer to step one alone says only that
// the master took the command. Commands for a sub are queued under its own serial number and
// delivered on its master's getrequest (CommandQueue, relay), in the CmdFormat=1 envelope naming it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/fields.hpp"
#include "service/clock.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

class CommandQueue;
class Devices;

class SubControllers {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  // auto_authorize: run the authorization without the operator (automatic registration).
  SubControllers(storage::Store& store, const Clock& clock, Devices& devices, CommandQueue& queue, bool auto_authorize);

  // Start-up: every sub-controller from the store (blocking).
  storage::StoreStatus load();

  // A master's DeviceAuthorize upload: logged (device log "device_authorize") and kept, with the next
  // step of the authorization queued when one is due, in one unit of work. Records without a valid
  // SN are logged only.
  void upload(const std::string& master, const std::vector<protocol::Record>& records, storage::Store::Done done);

  // The operator: step one of the authorization (not_found: no such sub-controller of that master).
  // The row as it is afterwards and the command queued (0: none was needed).
  struct Step {
    storage::SubController sub;
    std::int64_t command_id = 0;
  };
  void authorize(const std::string& master, const std::string& sub, Reply<Step> done);
  // DATA DELETE DeviceAuthorize SN=<sub>; never authorized again without the operator.
  void deauthorize(const std::string& master, const std::string& sub, Reply<Step> done);

  // A device removed from the store (storage DeviceWrites::remove took its sub-controller rows: its
  // own, and those naming it as master).
  void forget(const std::string& sn);

  // No store access (the poll path).
  std::vector<std::string> subs_of(const std::string& master) const;
  std::optional<std::string> master_of(const std::string& sub) const;
  // Why a command may not be queued for this device now (a sub-controller not authorized), or nullopt.
  std::optional<std::string> refuse_command(const std::string& sn) const;
  // The same from the store (inside a write: what every node agrees on).
  static std::optional<std::string> refuse_stored(storage::DeviceReads& devices, const std::string& sn);

 private:
  static std::optional<std::string> refusal(const storage::SubController& sub);
  void keep(const std::vector<storage::SubController>& subs);
  void index();  // by_master_ from subs_ (lock held)

  storage::Store& store_;
  const Clock& clock_;
  Devices& devices_;
  CommandQueue& queue_;
  bool auto_authorize_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, storage::SubController> subs_;  // by the sub's serial number
  std::unordered_map<std::string, std::vector<std::string>> by_master_;
};

}  // namespace zkpush::service
