// Scenario scripts: what one emulated device does and what it must see, one step per line
// (`zkpush simulate --scenario FILE`, the end-to-end tests). The grammar is in docs/simulate.md
// ("Scenarios"); in short:
//
//   # a comment            wait registered|online|acked [timeout=20s]     sleep 2s
//   wait commands N|+N     swipe card=123 door=1 [verify=4] [expect=27|granted|denied]
//   wait user pin=5 [present|absent] [timeout=20s]
//   door open|close door=1                       offline 30s      online
//   enroll pin=5 name=Ann card=123 [password=] [finger=0 template=BASE64|random]
//   expect user pin=5 [present|absent]           expect result return=0 [id=ID] [command=DATA]
//   expect door=1 [relay=connected|disconnected] [sensor=open|closed]          expect events acked>=N
//   report errorlog code=D01E0001 [cmdid=123] | report irstate | report wiegand      gate in|out
//
// Parsing collects every bad line (line number and what is wrong) instead of stopping at the first,
// so a script is fixed in one pass; nothing throws past the API. Running posts to the session's
// executor, stops at the first failed step, and reports each step it ran.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "emulator/device_session.hpp"

namespace zkpush::emulator {

enum class StepKind {
  wait_registered,
  wait_online,
  wait_commands,
  wait_acked,
  wait_user,
  sleep,
  swipe,
  door_sensor,
  offline,
  online,
  enroll,
  expect_user,
  expect_result,
  expect_door,
  expect_events,
  report,  // the panel uploads an error log, its channel counters or a Wiegand test reading
  gate,    // a person passes the channel gate (in or out): counters move, irstate follows
};

struct ScenarioStep {
  StepKind kind = StepKind::sleep;
  int line = 0;       // 1-based line of the script
  std::string text;   // the line as written, without its comment
  std::chrono::milliseconds duration{0};  // sleep, offline; the timeout of a wait
  std::int64_t count = 0;                 // wait commands N, expect events acked>=N
  bool relative = false;                  // wait commands +N: N more than when the step started
  // swipe
  std::string card;
  std::string pin;
  int door = 1;
  int verify = 4;
  std::optional<int> expect_event;    // expect=27
  std::optional<bool> expect_granted; // expect=granted / denied
  // door open|close, expect door=
  bool open = false;
  std::optional<bool> relay_open;
  std::optional<bool> sensor_open;
  // enroll (pin, card above)
  std::string name;
  std::string password;
  std::optional<int> finger;
  std::string template_base64;  // "random" is drawn when the step runs
  // expect user, wait user: present (true) or absent; expect result
  bool present = true;
  std::optional<std::int64_t> return_code;
  std::string id;
  std::string command;
  // report: errorlog, irstate or wiegand; errorlog's code= and cmdid=
  std::string report;
  std::string errcode;
  std::string cmdid;
  // gate: in (true) or out
  bool in = true;
};

struct ScenarioError {
  int line = 0;  // 0: the file itself (unreadable)
  std::string message;
  std::string to_string() const;  // "line 7: ..."
};

struct Scenario {
  std::vector<ScenarioStep> steps;
};

struct ParsedScenario {
  Scenario scenario;
  std::vector<ScenarioError> errors;  // empty when the script is good
  bool ok() const noexcept { return errors.empty(); }
};

// Default timeout of the wait steps.
inline constexpr std::chrono::milliseconds kDefaultWaitTimeout{20000};

ParsedScenario parse_scenario(std::string_view text);
ParsedScenario parse_scenario_file(const std::string& path);
// "500ms", "30s", "2m" (a bare number is refused: the unit is part of the meaning).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// ---- running -------------------------------------------------------------------------------------------

enum class StepStatus { passed, failed, timed_out };
std::string_view step_status_name(StepStatus s) noexcept;  // "ok", "failed", "timeout"

struct StepOutcome {
  int line = 0;
  std::string text;
  StepStatus status = StepStatus::passed;
  std::string detail;  // what was seen (passed) or why not (failed, timed out)
  double elapsed_ms = 0;
};

struct ScenarioReport {
  bool passed = false;
  std::size_t steps_total = 0;
  std::vector<StepOutcome> steps;  // the steps that ran, in order; the last one failed if !passed
  std::optional<int> failed_line;
  nlohmann::ordered_json to_json() const;
};

// Runs a scenario on one session, on the session's executor (sessions are single-executor: the
// runner reads and changes the device between two of its turns, never concurrently).
class ScenarioRunner : public std::enable_shared_from_this<ScenarioRunner> {
 public:
  ScenarioRunner(const boost::asio::any_io_executor& executor, std::shared_ptr<DeviceSession> session, Scenario scenario);

  // Starts the steps. `on_step` (optional) runs after each step, `on_done` once at the end; both
  // on the executor. stop() (on the executor) ends the run at its next wait as a failed step.
  void start(std::function<void(const ScenarioReport&)> on_done, std::function<void(const StepOutcome&)> on_step = {});
  void stop();

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<StepOutcome> execute(const ScenarioStep& step);
  boost::asio::awaitable<StepOutcome> wait_step(const ScenarioStep& step);  // waits, sleep, offline
  StepOutcome act(const ScenarioStep& step);                                // everything else: at once
  // Polls `ready` until it holds or the step's timeout passes.
  boost::asio::awaitable<bool> wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);
  boost::asio::awaitable<bool> pause(std::chrono::milliseconds d);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<DeviceSession> session_;
  Scenario scenario_;
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
  std::function<void(const ScenarioReport&)> on_done_;
  std::function<void(const StepOutcome&)> on_step_;
};

}  // namespace zkpush::emulator
