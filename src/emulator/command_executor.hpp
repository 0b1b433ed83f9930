// What an emulated device does with each server command (manual 9): change its model, prepare the
// uploads the command asks for (querydata packs, ACCOUNT archives, enrollment data), produce the
// events and door changes a panel would, and the devicecmd result line.
//
// Pure: no sockets and no clock. The session (device_session.hpp) sends `uploads` first, then the
// result, then an rtstate when `doors_changed`; it performs the download of an UPGRADE and the
// connection test of a Test Host itself and completes their results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "emulator/device_model.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"

namespace zkpush::emulator {

struct ExecutionContext {
  protocol::CivilTime now;                 // the device's wall clock
  std::int64_t unix_now = 0;               // for relay timers
  std::size_t max_package_size = 2048000;  // MaxPackageSize of the registration
  // ACCOUNT controller form (9.2.2): records per transaction file sub-package.
  std::size_t account_records_per_file = 5000;
  // Devices that answer ACCOUNT with the overview + /iclock/file form (controllers) rather than
  // the PULL SDK querydata form.
  bool account_controller_form = false;
};

struct Execution {
  protocol::CommandResult result;
  std::vector<protocol::OutgoingRequest> uploads;  // to POST, in order, before the result
  std::vector<DeviceModel::Event> events;          // logged by the command (already in the model)
  bool doors_changed = false;                      // an rtstate upload should follow
  bool restart = false;                            // CONTROL DEVICE restart: reconnect after answering
  std::optional<protocol::Upgrade> upgrade;        // download, check, then answer (result.return_code set by the session)
  std::optional<std::string> test_host;            // "ip:port" to try; the session sets the Return
  bool options_changed = false;                    // SET OPTIONS changed a server-relevant option
  // A second answer for the same command, sent after `result` in a later devicecmd: SET
  // ADSCREEN_OPTIONS answers -5000 first (the screen device is downloading), then its final Return.
  std::optional<protocol::CommandResult> final_result;
};

// The Return of an UPGRADE once its file has arrived (9.4.1): base64 decoded for method 1, then the
// announced size and MD5 checked; 0 when the file is intact.
int verify_download(const protocol::Upgrade& upgrade, std::string file);

class CommandExecutor {
 public:
  Execution execute(const protocol::Command& command, DeviceModel& model, const ExecutionContext& context);

  // Forgets that `id` ran, so that a re-sent command runs again (its data never reached the server).
  void forget(const std::string& id);

  // How many recent command IDs are remembered for the -7 (repeated) answer.
  static constexpr std::size_t remembered_ids = 4096;

 private:
  bool already_ran(const std::string& id);

  std::unordered_set<std::string> ran_;
  std::deque<std::string> ran_order_;
};

}  // namespace zkpush::emulator
