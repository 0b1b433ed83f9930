// One emulated device talking to a server, as a panel does (manual 4-10):
//
//   init -> registry (until accepted) -> push config -> options upload (when asked)
//   then, every RequestDelay: getrequest, execute the commands, upload their data, devicecmd;
//   events as rtlog (at once when Realtime=1, else every TransInterval), door changes as rtstate.
//
// Events are logged in the model first and uploaded from a cursor that advances only on a 200:
// while the server is unreachable they accumulate, and after reconnecting they go up in order
// from where the server stopped acknowledging (resume from breakpoint) - none lost, none skipped.
// After a failure the device waits ErrorDelay and starts again from init, as panels do.
//
// A session is a coroutine on one executor; everything it touches is that executor's, so scenario
// steps and tests act on it by posting to the same executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "emulator/access_decision.hpp"
#include "emulator/command_executor.hpp"
#include "emulator/device_model.hpp"
#include "emulator/http_client.hpp"
#include "emulator/profiles.hpp"
#include "emulator/stats.hpp"
#include "protocol/encryption.hpp"

namespace zkpush::emulator {

struct SessionOptions {
  ServerAddress server;
  const Profile* profile = nullptr;
  std::string sn;
  std::string ip = "192.168.1.201";  // what the device reports as its own address
  int tz_minutes = 0;                 // the device's zone: its wall clock is UTC + this
  // How far the device's own clock is off true time (a panel's clock drifts or is set by hand);
  // it dates events and decides when TransTimes come.
  std::chrono::seconds clock_offset{0};
  // Simulated card swipes per second (0 = none); each is decided from the device's own tables.
  double events_per_second = 0;
  // The cards those swipes present: uniformly from [first, last] when set (a site whose cards the
  // server knows and the panel need not: remote identification); else mostly the device's own
  // users' cards, with strangers.
  struct CardRange {
    std::uint64_t first = 0, last = 0;
  };
  std::optional<CardRange> swipe_cards;
  // Overrides the server's RequestDelay (benchmarks poll faster or slower than configured).
  std::optional<std::chrono::milliseconds> poll_interval;
  std::size_t rtlog_batch = 100;  // records per rtlog upload at most
  // Remote identification (manual 10): every card or user the device reads is sent to the server
  // (cdata?AuthType=device) and the server's answer obeyed — SUCCESS opens the door with the
  // answer's CONTROL DEVICE, FAILED does not — logged as 222 / 44. No answer within
  // `remote_auth_timeout` (or an answer that is not one): event 45 and the fallback, which the
  // manual leaves to the panel: deny (the default), or decide from the device's own tables as
  // without the server (`remote_auth_fallback_local`), logging that decision too.
  bool remote_auth = false;
  bool remote_auth_fallback_local = false;
  std::chrono::milliseconds remote_auth_timeout{3000};
  // Communication encryption (4.2, 4.3, docs/encryption.md): after init the device exchanges keys
  // and encrypts every body after that, expecting encrypted answers; a server that refuses the
  // exchange gets plain text (Appendix 16), counted in Stats::encryption_refused.
  bool encryption = false;
  // Multi-level control (manual 5, Appendix 15): a master controller (MasterControlOn=1,
  // CmdFormat=1) with this many sub-controllers of the same profile, serial numbers
  // <sn>-S1, <sn>-S2... It uploads their DeviceAuthorize table, obeys the two-step authorization,
  // and runs a command whose envelope names a sub on that sub's own model: Return=-5000 at once,
  // the sub's result (with SN=) on its next poll.
  int sub_controllers = 0;
  std::uint32_t seed = 1;
  // How long the screen device of a channel controller takes to fetch what SET ADSCREEN_OPTIONS
  // names (9.5.3): its final Return follows the -5000 in the first devicecmd after this.
  std::chrono::milliseconds adscreen_download{2000};
};

// An emulated sub-controller behind a master (SessionOptions::sub_controllers).
struct SubControllerSim {
  explicit SubControllerSim(std::string serial, const Profile& profile, const std::string& ip);
  std::string sn;
  DeviceModel model;
  CommandExecutor executor;
  int is_authorize = 0;        // 0 unauthorized, 1 in progress, 2 authorized (the master's table)
  std::string register_info;   // pushed once step one allowed it
  std::string authorize_info;  // what it says of itself while unauthorized
};

// A user enrolled at the device itself (keypad, fingerprint reader), not sent by the server.
struct LocalEnrolment {
  std::string pin;
  std::string name;
  std::string cardno;
  std::string password;
  std::optional<int> finger;    // 0-9: a fingerprint was enrolled too
  std::string template_base64;  // its template (templatev10 Template), when `finger` is set
};

class DeviceSession : public std::enable_shared_from_this<DeviceSession> {
 public:
  DeviceSession(const boost::asio::any_io_executor& executor, SessionOptions options, Stats& stats);

  // Starts the device's coroutine. stop() ends it at the next wait; `on_stopped` (optional) runs then.
  void start(std::function<void()> on_stopped = {});
  void stop();

  // ---- what scenarios and tests do to the device (on its executor) -----------------------------------
  // A card presented at a door's reader: decided from the device's tables, logged, uploaded. With
  // remote identification, verify_remotely runs instead (detached: the answer comes later).
  AccessDecision swipe(const Credential& credential, int door);
  // Remote identification of one card or user at a door: asks the server, obeys, logs (above).
  // `asked` is copied before the first suspension (a reference, not a by-value parameter: g++ 12
  // destroys a coroutine's class-type parameter twice on some paths).
  boost::asio::awaitable<AccessDecision> verify_remotely(const Credential& asked, int door);
  // A door physically opened or closed (sensor): logs 200/201 and reports rtstate.
  void set_door_sensor(int door, bool open);
  // Cuts the device off the network: no request leaves it until `until` (events keep being logged).
  void go_offline(std::chrono::steady_clock::time_point until);
  // Wakes the device's loop now (e.g. after a swipe, to upload at once).
  void wake();

  // ---- observation -----------------------------------------------------------------------------------
  DeviceModel& model() noexcept { return model_; }
  const SessionOptions& options() const noexcept { return options_; }
  bool online() const noexcept { return online_; }
  bool registered() const noexcept { return !registry_code_.empty(); }
  std::int64_t acked_index() const noexcept { return acked_index_; }
  std::uint64_t commands_executed() const noexcept { return commands_executed_; }
  std::int64_t server_request_delay() const noexcept { return request_delay_s_; }
  const std::string& last_error() const noexcept { return last_error_; }
  // Keys exchanged with the server since the last init (simulate --encryption).
  bool encrypted() const noexcept { return channel_.has_value(); }
  // Results the device reported, newest last (id, Return) - for scenario expectations.
  const std::deque<protocol::CommandResult>& results() const noexcept { return results_; }

  // ---- multi-level control -----------------------------------------------------------------------------
  // The emulated sub-controllers (empty unless SessionOptions::sub_controllers); nullptr: no such one.
  const std::vector<std::unique_ptr<SubControllerSim>>& sub_controllers() const noexcept { return subs_; }
  SubControllerSim* sub_controller(std::string_view sn);
  // While held, the sub-controllers' final results stay at the master (only -5000 goes up): a test
  // sees the intermediate state, then releases them (posted at the next poll).
  void hold_sub_results(bool hold) { hold_sub_results_ = hold; }
  std::size_t held_sub_results() const noexcept { return sub_results_.size(); }

  // ---- local enrolment (manual 7.5, 7.7) ----------------------------------------------------------------
  // Stores the user (and fingerprint template) in the model and queues the tabledata uploads a panel
  // sends after enrolling someone locally; they go up at the next turn of the loop and stay queued
  // until the server answers 200, as events do. Returns ret::ok, or ret::bad_parameter (no pin,
  // finger outside 0-9, finger without template).
  int enroll(const LocalEnrolment& enrolment);
  // Enrolment uploads not yet acknowledged by the server.
  std::size_t pending_uploads() const noexcept { return enrolled_uploads_.size(); }

  // ---- what a panel reports of its own accord -----------------------------------------------------------
  // Queued like enrolments, sent before the next poll until the server answers 200:
  // an error log (7.12, Appendix 17 code such as D01E0001), the channel counters (irstate, 7.14),
  // a Wiegand test reading (testdata; ret::execution_error unless CONTROL DEVICE 09 started the
  // test), a person passing a channel gate (in or out: the counters move, then irstate).
  void report_errorlog(const std::string& code, const std::string& cmdid);
  void report_irstate();
  int report_wiegand();
  void pass_gate(bool in);
  // The screen devices finish their downloads now: the final SET ADSCREEN_OPTIONS answers go with
  // the next devicecmd.
  void finish_downloads();

 private:
  boost::asio::awaitable<void> run();
  // The door's lock released for `seconds` (0: locked again now).
  void open_relay(int door, int seconds);
  void log_access(const Credential& credential, int door, const std::string& pin, int event);
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<bool> poll();
  boost::asio::awaitable<bool> upload_events(bool force);
  boost::asio::awaitable<bool> upload_rtstate();
  // During a long upload (a backlog after reconnecting) the device proves it is alive with ping
  // once per poll interval instead of getrequest (6): commands wait until the upload is done.
  boost::asio::awaitable<bool> heartbeat_if_due();
  // When the next batch is due with Realtime=0: TransInterval after the last batch, or the next
  // TransTimes time of day after it, whichever comes first.
  std::chrono::steady_clock::time_point next_batch_due() const;
  void schedule_trans_time();
  boost::asio::awaitable<bool> execute(const protocol::Command& command);
  boost::asio::awaitable<int> download(const protocol::Upgrade& upgrade);
  boost::asio::awaitable<bool> sleep(std::chrono::steady_clock::duration d);
  // One exchange, timed and counted. nullopt when there was no answer or the status was not 2xx.
  boost::asio::awaitable<std::optional<HttpAnswer>> exchange(Exchange kind, const protocol::OutgoingRequest& request);
  // 4.2 then 4.3: a new key pair, the factors, the session channel. False on a failure that ends the
  // handshake; true when encrypted, or when the server refused and the device goes on in plain text.
  boost::asio::awaitable<bool> exchange_keys();
  // The request as it goes: its body encrypted once keys are exchanged (a firmware download, not).
  protocol::OutgoingRequest sealed(Exchange kind, const protocol::OutgoingRequest& request);
  // The answer opened in place; false (counted as a mismatch, in last_error_) when an encrypted
  // session gets a 2xx answer in plain text or one that does not open.
  bool open_answer(Exchange kind, HttpAnswer& answer);

  void generate_due_events();
  void expire_relays();
  protocol::CivilTime local_now() const;
  std::int64_t unix_now() const;
  std::chrono::milliseconds timeout() const { return std::chrono::seconds(timeout_s_); }
  std::chrono::milliseconds poll_interval() const;

  boost::asio::any_io_executor executor_;
  SessionOptions options_;
  Stats& stats_;
  DeviceModel model_;
  CommandExecutor executor_commands_;
  HttpClient http_;
  // Remote identification has connections of its own: a verification cannot wait behind a poll or
  // an upload on the device's main one, and swipes close together are asked at once, each on an
  // idle connection of this pool (a new one when none is idle).
  std::vector<std::unique_ptr<HttpClient>> auth_idle_;
  boost::asio::steady_timer timer_;
  std::mt19937 random_;

  // From the server.
  std::string registry_code_;
  std::string session_id_;
  std::string cookie_;
  std::optional<protocol::encryption::Channel> channel_;  // set once the key exchange succeeded
  std::int64_t request_delay_s_ = 30;
  std::int64_t error_delay_s_ = 30;
  std::int64_t timeout_s_ = 20;
  bool realtime_ = true;
  // Realtime=0 (7.1): what was logged goes up every TransInterval minutes (0: no interval) and at
  // each TransTimes time of day; the manual's client defaults are 2 minutes and 12:30, 14:30.
  std::int64_t trans_interval_min_ = 2;
  std::vector<int> trans_times_ = {12 * 60 + 30, 14 * 60 + 30};
  std::size_t max_package_size_ = 2048000;

  std::int64_t acked_index_ = 0;  // highest event index the server acknowledged
  bool doors_dirty_ = true;       // an rtstate upload is due
  bool online_ = false;
  bool stopping_ = false;
  bool woken_ = false;
  bool restart_requested_ = false;  // CONTROL DEVICE restart answered: reconnect from init
  std::uint64_t commands_executed_ = 0;
  std::string last_error_;
  std::deque<protocol::CommandResult> results_;
  // Second answers (SET ADSCREEN_OPTIONS' final Return), each for the first devicecmd after `due`.
  struct DeferredResult {
    protocol::CommandResult result;
    std::chrono::steady_clock::time_point due;
  };
  std::vector<DeferredResult> deferred_results_;
  std::chrono::steady_clock::time_point offline_until_{};
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_batch_upload_{};
  std::chrono::steady_clock::time_point next_trans_time_{};  // the TransTimes point after last_batch_upload_
  std::chrono::steady_clock::time_point last_heartbeat_{};   // last getrequest or ping answered
  std::uint64_t events_generated_ = 0;
  std::function<void()> on_stopped_;
  std::deque<protocol::OutgoingRequest> enrolled_uploads_;  // oldest first; popped on a 200
  boost::asio::awaitable<bool> upload_enrolled();

  // Multi-level control.
  std::vector<std::unique_ptr<SubControllerSim>> subs_;
  bool authorize_dirty_ = false;                   // the DeviceAuthorize table is to be pushed
  bool hold_sub_results_ = false;
  std::vector<protocol::CommandResult> sub_results_;  // the subs' final results, not posted yet
  boost::asio::awaitable<bool> upload_device_authorize();
  boost::asio::awaitable<bool> post_sub_results();
  // A DATA UPDATE / DELETE of DeviceAuthorize (the server's authorization steps), run by the master.
  std::optional<protocol::CommandResult> authorize_step(const protocol::Command& command);
  // A command whose CmdFormat=1 envelope names one of the subs: -5000 now, its result later.
  std::optional<protocol::CommandResult> relay(const protocol::Command& command);
};

}  // namespace zkpush::emulator
