#include "emulator/scenario.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "protocol/base64.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace asio = boost::asio;
namespace p = protocol;
using clock = std::chrono::steady_clock;

std::string ScenarioError::to_string() const {
  return line > 0 ? "line " + std::to_string(line) + ": " + message : message;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  auto n = p::text::parse_int(text.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  std::optional<std::chrono::milliseconds> d;
  if (unit == "ms") d = std::chrono::milliseconds(*n);
  if (unit == "s") d = std::chrono::milliseconds(*n * 1000);
  if (unit == "m") d = std::chrono::milliseconds(*n * 60000);
  // A day at most: a scenario step is seconds or minutes, and a bound keeps clock arithmetic
  // (now + duration, in nanoseconds) far from overflow.
  if (d && *d > std::chrono::hours(24)) return std::nullopt;
  return d;
}

namespace {

// One word of a line: `key=value` (value possibly "quoted"), or a bare word when key is empty.
struct Token {
  std::string key;
  std::string value;
  std::string text;  // as written, for messages
};

// Splits on blanks; a double-quoted value may hold blanks ("name=\"Ann Lee\""). nullopt: unterminated quote.
std::optional<std::vector<Token>> tokenize(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    const std::size_t begin = i;
    std::string word;
    bool quoted = false;
    while (i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t'))) {
      if (line[i] == '"') {
        quoted = !quoted;
      } else {
        word += line[i];
      }
      ++i;
    }
    if (quoted) return std::nullopt;
    Token t;
    t.text = std::string(line.substr(begin, i - begin));
    // Only an '=' written before any quote separates the key.
    const auto eq = t.text.find('=');
    const auto quote = t.text.find('"');
    if (eq != std::string::npos && (quote == std::string::npos || eq < quote) && eq > 0) {
      t.key = word.substr(0, eq);
      t.value = word.substr(eq + 1);
    } else {
      t.value = word;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// The arguments of one step after its verb words, checked against what the verb accepts.
class Args {
 public:
  Args(int line, std::vector<ScenarioError>& errors) : line_(line), errors_(errors) {}

  // Takes tokens; every key must be in `allowed`, given once. Bare words go to positionals().
  bool take(const std::vector<Token>& tokens, std::size_t from, std::string_view verb,
            std::initializer_list<std::string_view> allowed) {
    bool good = true;
    for (std::size_t i = from; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      if (t.key.empty()) {
        positionals_.push_back(t.value);
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), t.key) == allowed.end()) {
        std::string keys;
        for (auto k : allowed) keys += std::string(keys.empty() ? "" : ", ") + std::string(k);
        fail("unknown key '" + t.key + "' for " + std::string(verb) +
             (keys.empty() ? " (it takes none)" : " (keys: " + keys + ")"));
        good = false;
        continue;
      }
      if (values_.count(t.key) != 0) {
        fail("'" + t.key + "' given twice");
        good = false;
        continue;
      }
      values_[t.key] = t.value;
    }
    return good;
  }

  const std::vector<std::string>& positionals() const { return positionals_; }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string get(const std::string& key, const std::string& fallback = {}) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  bool require(const std::string& key, std::string_view verb) {
    if (has(key)) return true;
    fail(std::string(verb) + ": missing " + key + "=");
    return false;
  }
  // An integer value in [lo, hi]; false (and an error) when it is not one.
  bool integer(const std::string& key, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    if (!has(key)) return true;
    auto v = p::text::parse_int(get(key));
    if (!v || *v < lo || *v > hi) {
      fail(key + "=" + get(key) + ": expected a whole number from " + std::to_string(lo) + " to " +
           std::to_string(hi));
      return false;
    }
    out = *v;
    return true;
  }
  bool duration(const std::string& key, std::chrono::milliseconds& out) {
    if (!has(key)) return true;
    auto d = parse_duration(get(key));
    if (!d) {
      fail(key + "=" + get(key) + ": not a duration (like 500ms, 30s, 2m)");
      return false;
    }
    out = *d;
    return true;
  }
  // open|closed into `out`.
  bool open_closed(const std::string& key, std::optional<bool>& out) {
    if (!has(key)) return true;
    const std::string v = get(key);
    if (v == "open") {
      out = true;
    } else if (v == "closed") {
      out = false;
    } else {
      fail(key + "=" + v + ": expected open or closed");
      return false;
    }
    return true;
  }
  // A relay in the words of the API, decode and the manual's rtstate (connected: closed circuit,
  // disconnected: open circuit); open and closed are still read as the circuit.
  bool relay_state(const std::string& key, std::optional<bool>& disconnected) {
    if (!has(key)) return true;
    const std::string v = get(key);
    if (v == "disconnected" || v == "open") {
      disconnected = true;
    } else if (v == "connected" || v == "closed") {
      disconnected = false;
    } else {
      fail(key + "=" + v + ": expected connected or disconnected");
      return false;
    }
    return true;
  }
  bool no_positionals(std::string_view verb) {
    if (positionals_.empty()) return true;
    fail("unexpected '" + positionals_.front() + "' after " + std::string(verb));
    return false;
  }
  void fail(std::string message) { errors_.push_back(ScenarioError{line_, std::move(message)}); }

 private:
  int line_;
  std::vector<ScenarioError>& errors_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

constexpr std::string_view kVerbs = "wait, sleep, swipe, door, offline, online, enroll, expect, report, gate";

// Parses one non-empty line into `step`; false when it has errors (already recorded).
bool parse_step(const std::vector<Token>& tokens, ScenarioStep& step, Args& args) {
  const Token& verb = tokens.front();
  if (!verb.key.empty()) {
    args.fail("a step starts with its verb (" + std::string(kVerbs) + "), not '" + verb.text + "'");
    return false;
  }
  const std::string& v = verb.value;
  auto second = [&]() -> std::string { return tokens.size() > 1 && tokens[1].key.empty() ? tokens[1].value : ""; };
  std::int64_t n = 0;

  if (v == "wait") {
    const std::string what = second();
    if (what == "user") {
      // Until the server has written (or deleted) a user into the device's tables: a script that
      // swipes a card the server sends waits for it rather than guessing a number of commands.
      step.kind = StepKind::wait_user;
      step.duration = kDefaultWaitTimeout;
      bool good = args.take(tokens, 2, "wait user", {"pin", "timeout"}) && args.require("pin", "wait user") &&
                  args.duration("timeout", step.duration);
      if (!good) return false;
      step.pin = args.get("pin");
      const auto& rest = args.positionals();
      if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "present" && rest[0] != "absent")) {
        args.fail("wait user: expected present or absent after pin=, got '" + rest.back() + "'");
        return false;
      }
      step.present = rest.empty() || rest[0] == "present";
      return true;
    }
    if (what == "registered" || what == "online" || what == "acked" || what == "commands") {
      step.kind = what == "registered" ? StepKind::wait_registered
                  : what == "online"   ? StepKind::wait_online
                  : what == "acked"    ? StepKind::wait_acked
                                       : StepKind::wait_commands;
    } else {
      args.fail("wait: expected registered, online, commands, acked or user" +
                (what.empty() ? std::string() : ", got '" + what + "'"));
      return false;
    }
    step.duration = kDefaultWaitTimeout;
    bool good = args.take(tokens, 2, "wait " + what, {"timeout"}) && args.duration("timeout", step.duration);
    if (step.kind == StepKind::wait_commands) {
      if (args.positionals().size() != 1) {
        args.fail("wait commands: expected one count (N, or +N for N more)");
        return false;
      }
      std::string count = args.positionals().front();
      step.relative = !count.empty() && count.front() == '+';
      if (step.relative) count.erase(0, 1);
      auto c = p::text::parse_int(count);
      if (!c || *c < 0) {
        args.fail("wait commands: '" + args.positionals().front() + "' is not a count");
        return false;
      }
      step.count = *c;
      return good;
    }
    return good && args.no_positionals("wait " + what);
  }
  if (v == "sleep" || v == "offline") {
    step.kind = v == "sleep" ? StepKind::sleep : StepKind::offline;
    if (!args.take(tokens, 1, v, {})) return false;
    if (args.positionals().size() != 1) {
      args.fail(v + ": expected one duration (like 500ms, 30s, 2m)");
      return false;
    }
    auto d = parse_duration(args.positionals().front());
    if (!d) {
      args.fail(v + ": '" + args.positionals().front() + "' is not a duration (like 500ms, 30s, 2m)");
      return false;
    }
    step.duration = *d;
    return true;
  }
  if (v == "online") {
    step.kind = StepKind::online;
    return args.take(tokens, 1, v, {}) && args.no_positionals(v);
  }
  if (v == "swipe") {
    step.kind = StepKind::swipe;
    bool good = args.take(tokens, 1, v, {"card", "pin", "door", "verify", "expect"}) && args.no_positionals(v);
    if (!good) return false;
    if (!args.has("card") && !args.has("pin")) {
      args.fail("swipe: missing card= (or pin= for a verification by user ID)");
      return false;
    }
    step.card = args.get("card");
    step.pin = args.get("pin");
    std::int64_t door = 1, verify = 4;
    good = args.integer("door", 1, 255, door) && args.integer("verify", 0, 255, verify);
    step.door = static_cast<int>(door);
    step.verify = static_cast<int>(verify);
    if (args.has("expect")) {
      const std::string e = args.get("expect");
      if (e == "granted") {
        step.expect_granted = true;
      } else if (e == "denied") {
        step.expect_granted = false;
      } else if (args.integer("expect", 0, 65535, n)) {
        step.expect_event = static_cast<int>(n);
      } else {
        return false;
      }
    }
    return good;
  }
  if (v == "door") {
    const std::string what = second();
    if (what != "open" && what != "close") {
      args.fail("door: expected open or close" + (what.empty() ? std::string() : ", got '" + what + "'"));
      return false;
    }
    step.kind = StepKind::door_sensor;
    step.open = what == "open";
    std::int64_t door = 1;
    bool good = args.take(tokens, 2, "door " + what, {"door"}) && args.no_positionals("door " + what) &&
                args.integer("door", 1, 255, door);
    step.door = static_cast<int>(door);
    return good;
  }
  if (v == "report") {
    step.kind = StepKind::report;
    step.report = second();
    if (step.report != "errorlog" && step.report != "irstate" && step.report != "wiegand") {
      args.fail("report: expected errorlog, irstate or wiegand" + (step.report.empty() ? std::string() : ", got '" + step.report + "'"));
      return false;
    }
    if (step.report != "errorlog") return args.take(tokens, 2, "report " + step.report, {}) && args.no_positionals("report");
    bool good = args.take(tokens, 2, "report errorlog", {"code", "cmdid"}) && args.no_positionals("report errorlog") &&
                args.require("code", "report errorlog");
    if (!good) return false;
    step.errcode = args.get("code");
    step.cmdid = args.get("cmdid");
    // Appendix 17: generator letter, module, type letter, error value: 8 characters.
    if (step.errcode.size() != 8 || step.errcode.find_first_of(" \t") != std::string::npos) {
      args.fail("report errorlog: code= is 8 characters (Appendix 17, like D01E0001), not '" + step.errcode + "'");
      return false;
    }
    return true;
  }
  if (v == "gate") {
    step.kind = StepKind::gate;
    const std::string what = second();
    if (what != "in" && what != "out") {
      args.fail("gate: expected in or out" + (what.empty() ? std::string() : ", got '" + what + "'"));
      return false;
    }
    step.in = what == "in";
    return args.take(tokens, 2, "gate " + what, {}) && args.no_positionals("gate");
  }
  if (v == "enroll") {
    step.kind = StepKind::enroll;
    bool good = args.take(tokens, 1, v, {"pin", "name", "card", "password", "finger", "template"}) &&
                args.no_positionals(v) && args.require("pin", v);
    if (!good) return false;
    step.pin = args.get("pin");
    step.name = args.get("name");
    step.card = args.get("card");
    step.password = args.get("password");
    if (args.has("finger")) {
      if (!args.integer("finger", 0, 9, n)) return false;
      step.finger = static_cast<int>(n);
      step.template_base64 = args.get("template", "random");
      if (step.template_base64 != "random" &&
          (step.template_base64.empty() || !p::base64_decode(step.template_base64))) {
        args.fail("enroll: template= is neither base64 nor 'random'");
        return false;
      }
    } else if (args.has("template")) {
      args.fail("enroll: template= without finger= (which finger is it?)");
      return false;
    }
    return true;
  }
  if (v == "expect") {
    if (tokens.size() < 2) {
      args.fail("expect: expected user, result, door=N or events");
      return false;
    }
    const Token& what = tokens[1];
    if (what.key == "door") {
      step.kind = StepKind::expect_door;
      bool good = args.take(tokens, 1, "expect door", {"door", "relay", "sensor"}) && args.no_positionals("expect door");
      std::int64_t door = 1;
      good = good && args.integer("door", 1, 255, door) && args.relay_state("relay", step.relay_open) &&
             args.open_closed("sensor", step.sensor_open);
      step.door = static_cast<int>(door);
      if (good && !step.relay_open && !step.sensor_open) {
        args.fail("expect door: give relay= and/or sensor=");
        return false;
      }
      return good;
    }
    if (what.key.empty() && what.value == "user") {
      step.kind = StepKind::expect_user;
      bool good = args.take(tokens, 2, "expect user", {"pin"}) && args.require("pin", "expect user");
      if (!good) return false;
      step.pin = args.get("pin");
      const auto& rest = args.positionals();
      if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "present" && rest[0] != "absent")) {
        args.fail("expect user: expected present or absent after pin=, got '" + rest.back() + "'");
        return false;
      }
      step.present = rest.empty() || rest[0] == "present";
      return true;
    }
    if (what.key.empty() && what.value == "result") {
      step.kind = StepKind::expect_result;
      bool good = args.take(tokens, 2, "expect result", {"return", "id", "command"}) &&
                  args.no_positionals("expect result") && args.require("return", "expect result");
      if (!good) return false;
      std::int64_t rc = 0;
      if (!args.integer("return", -1000000000, 1000000000, rc)) return false;
      step.return_code = rc;
      step.id = args.get("id");
      step.command = args.get("command");
      return true;
    }
    if (what.key.empty() && what.value == "events") {
      step.kind = StepKind::expect_events;
      // "acked>=N" reads as the key "acked>" with the value N.
      if (tokens.size() != 3 || tokens[2].key != "acked>") {
        args.fail("expect events: expected acked>=N");
        return false;
      }
      auto c = p::text::parse_int(tokens[2].value);
      if (!c || *c < 0) {
        args.fail("expect events: '" + tokens[2].value + "' is not a count");
        return false;
      }
      step.count = *c;
      return true;
    }
    args.fail("expect: expected user, result, door=N or events, got '" + what.text + "'");
    return false;
  }
  args.fail("unknown step '" + v + "' (steps: " + std::string(kVerbs) + ")");
  return false;
}

}  // namespace

ParsedScenario parse_scenario(std::string_view text) {
  ParsedScenario out;
  int number = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    // A '#' outside quotes starts a comment.
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') quoted = !quoted;
      if (line[i] == '#' && !quoted) {
        line = line.substr(0, i);
        break;
      }
    }
    line = p::text::trim_line(line);
    if (line.empty()) {
      if (end == text.size()) break;
      continue;
    }
    auto tokens = tokenize(line);
    if (!tokens) {
      out.errors.push_back(ScenarioError{number, "unterminated quote"});
    } else {
      ScenarioStep step;
      step.line = number;
      step.text = std::string(line);
      Args args(number, out.errors);
      const std::size_t before = out.errors.size();
      if (parse_step(*tokens, step, args) && out.errors.size() == before) out.scenario.steps.push_back(std::move(step));
    }
    if (end == text.size()) break;
  }
  return out;
}

ParsedScenario parse_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParsedScenario out;
    out.errors.push_back(ScenarioError{0, "cannot read " + path});
    return out;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_scenario(buffer.str());
}

// ---- running -------------------------------------------------------------------------------------------

std::string_view step_status_name(StepStatus s) noexcept {
  switch (s) {
    case StepStatus::passed: return "ok";
    case StepStatus::failed: return "failed";
    case StepStatus::timed_out: return "timeout";
  }
  return "?";
}

nlohmann::ordered_json ScenarioReport::to_json() const {
  nlohmann::ordered_json j;
  j["passed"] = passed;
  j["steps_total"] = steps_total;
  j["steps_run"] = steps.size();
  j["failed_line"] = failed_line ? nlohmann::ordered_json(*failed_line) : nlohmann::ordered_json(nullptr);
  auto& list = j["steps"] = nlohmann::ordered_json::array();
  for (const auto& s : steps) {
    list.push_back({{"line", s.line},
                    {"step", s.text},
                    {"status", step_status_name(s.status)},
                    {"detail", s.detail},
                    {"ms", s.elapsed_ms}});
  }
  return j;
}

ScenarioRunner::ScenarioRunner(const asio::any_io_executor& executor, std::shared_ptr<DeviceSession> session, Scenario scenario)
    : executor_(executor), session_(std::move(session)), scenario_(std::move(scenario)), timer_(executor) {}

void ScenarioRunner::start(std::function<void(const ScenarioReport&)> on_done, std::function<void(const StepOutcome&)> on_step) {
  on_done_ = std::move(on_done);
  on_step_ = std::move(on_step);
  auto self = shared_from_this();
  asio::co_spawn(executor_, [self]() -> asio::awaitable<void> { co_await self->run(); }, asio::detached);
}

void ScenarioRunner::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<bool> ScenarioRunner::pause(std::chrono::milliseconds d) {
  if (stopping_) co_return false;
  timer_.expires_after(d);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return !stopping_;
}

asio::awaitable<bool> ScenarioRunner::wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  // Polling: the session has no change notifications, and a 20 ms step is far below any
  // protocol interval a script waits for.
  const auto deadline = clock::now() + timeout;
  for (;;) {
    if (ready()) co_return true;
    const auto left = deadline - clock::now();
    if (left <= clock::duration::zero() || stopping_) co_return false;
    const auto step = std::min<clock::duration>(left, std::chrono::milliseconds(20));
    if (!co_await pause(std::chrono::duration_cast<std::chrono::milliseconds>(step) + std::chrono::milliseconds(1))) {
      co_return false;
    }
  }
}

asio::awaitable<void> ScenarioRunner::run() {
  auto self = shared_from_this();
  ScenarioReport report;
  report.steps_total = scenario_.steps.size();
  report.passed = true;
  for (const auto& step : scenario_.steps) {
    const auto begin = clock::now();
    StepOutcome outcome = co_await execute(step);
    outcome.line = step.line;
    outcome.text = step.text;
    outcome.elapsed_ms = std::chrono::duration<double, std::milli>(clock::now() - begin).count();
    if (stopping_ && outcome.status != StepStatus::failed) {
      outcome.status = StepStatus::failed;
      outcome.detail = "stopped";
    }
    report.steps.push_back(outcome);
    if (on_step_) on_step_(outcome);
    if (outcome.status != StepStatus::passed) {
      report.passed = false;
      report.failed_line = step.line;
      break;
    }
  }
  if (on_done_) on_done_(report);
}

namespace {

// CMD= names the verb as the device does ("DATA" for DATA UPDATE); either may be the longer one.
bool same_verb(std::string_view cmd, std::string_view expected) {
  const std::string_view shorter = cmd.size() <= expected.size() ? cmd : expected;
  const std::string_view longer = cmd.size() <= expected.size() ? expected : cmd;
  if (shorter.empty()) return longer.empty();
  if (!p::text::iequals(longer.substr(0, shorter.size()), shorter)) return false;
  return longer.size() == shorter.size() || longer[shorter.size()] == ' ';
}

std::string door_word(bool open) { return open ? "open" : "closed"; }

std::string random_template(std::mt19937& random) {
  std::string bytes(512, '\0');
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& c : bytes) c = static_cast<char>(byte(random));
  return p::base64_encode(bytes);
}

}  // namespace

// A swipe's outcome against its expectations. Granted is event 0, or 222 when the server decided
// (remote identification).
static StepOutcome judge_swipe(const ScenarioStep& step, const AccessDecision& d) {
  StepOutcome out;
  auto fail = [&out](std::string why) {
    out.status = StepStatus::failed;
    out.detail = std::move(why);
    return out;
  };
  const bool granted = d.granted() || d.event == event_code::remote_granted;
  out.detail = "event " + std::to_string(d.event) + (d.pin != "0" ? " (user " + d.pin + ")" : "");
  if (step.expect_event && d.event != *step.expect_event) {
    return fail("event " + std::to_string(d.event) + ", expected " + std::to_string(*step.expect_event));
  }
  if (step.expect_granted && granted != *step.expect_granted) {
    return fail(std::string(granted ? "granted" : "denied") + " (event " + std::to_string(d.event) + "), expected " +
                (*step.expect_granted ? "granted" : "denied"));
  }
  return out;
}

asio::awaitable<StepOutcome> ScenarioRunner::execute(const ScenarioStep& step) {
  if (step.kind == StepKind::swipe && session_->options().remote_auth &&
      step.door >= 1 && step.door <= session_->model().door_count()) {
    // The server decides: the step ends with its answer (or the fallback).
    const Credential credential{step.card, step.pin, step.verify};
    const AccessDecision d = co_await session_->verify_remotely(credential, step.door);
    co_return judge_swipe(step, d);
  }
  switch (step.kind) {
    case StepKind::wait_registered:
    case StepKind::wait_online:
    case StepKind::wait_commands:
    case StepKind::wait_acked:
    case StepKind::wait_user:
    case StepKind::sleep:
    case StepKind::offline: {
      StepOutcome out = co_await wait_step(step);
      co_return out;
    }
    default: break;
  }
  co_return act(step);
}

asio::awaitable<StepOutcome> ScenarioRunner::wait_step(const ScenarioStep& step) {
  StepOutcome out;
  DeviceSession& s = *session_;
  std::function<bool()> ready;
  std::chrono::milliseconds timeout = step.duration;
  const std::uint64_t commands_target =
      static_cast<std::uint64_t>(step.count) + (step.relative ? s.commands_executed() : 0);
  auto last_logged = [&s] { return s.model().events().empty() ? std::int64_t{0} : s.model().events().back().index; };
  switch (step.kind) {
    case StepKind::wait_registered: ready = [&s] { return s.registered(); }; break;
    case StepKind::wait_online: ready = [&s] { return s.online(); }; break;
    case StepKind::wait_commands:
      ready = [&s, commands_target] { return s.commands_executed() >= commands_target; };
      break;
    case StepKind::wait_acked:
      s.wake();
      ready = [&s, last_logged] { return s.pending_uploads() == 0 && s.acked_index() >= last_logged(); };
      break;
    case StepKind::wait_user:
      ready = [&s, &step] { return (s.model().find("user", "Pin", step.pin) != nullptr) == step.present; };
      break;
    case StepKind::offline:
      s.go_offline(clock::now() + step.duration);
      // Until the device has noticed, an upload already on its way could still carry what the
      // script logs next; after this step nothing leaves the device.
      ready = [&s] { return !s.online(); };
      timeout = kDefaultWaitTimeout;
      break;
    default:  // sleep
      co_await pause(step.duration);
      co_return out;
  }
  const bool reached = co_await wait_until(ready, timeout);
  switch (step.kind) {
    case StepKind::wait_registered: out.detail = reached ? "registered" : "not registered"; break;
    case StepKind::wait_online: out.detail = reached ? "online" : "not online"; break;
    case StepKind::wait_commands:
      out.detail = std::to_string(s.commands_executed()) + " commands executed" +
                   (reached ? "" : ", waiting for " + std::to_string(commands_target));
      break;
    case StepKind::wait_acked:
      out.detail = "events acknowledged up to " + std::to_string(s.acked_index()) +
                   (reached ? "" : " of " + std::to_string(last_logged()) + ", " + std::to_string(s.pending_uploads()) +
                                       " enrolment uploads pending");
      break;
    case StepKind::wait_user:
      out.detail = "user " + step.pin + (reached == step.present ? " present" : " absent");
      break;
    default: out.detail = reached ? "offline for " + std::to_string(step.duration.count()) + " ms" : "still online"; break;
  }
  if (!reached) {
    out.status = StepStatus::timed_out;
    out.detail += " after " + std::to_string(timeout.count()) + " ms";
    if (!s.last_error().empty()) out.detail += " (last error: " + s.last_error() + ")";
  }
  co_return out;
}

StepOutcome ScenarioRunner::act(const ScenarioStep& step) {
  StepOutcome out;
  auto fail = [&out](std::string why) {
    out.status = StepStatus::failed;
    out.detail = std::move(why);
    return out;
  };
  DeviceSession& s = *session_;
  auto door_missing = [&](int door) -> std::optional<std::string> {
    if (door >= 1 && door <= s.model().door_count()) return std::nullopt;
    return "no door " + std::to_string(door) + " on this device (it has " + std::to_string(s.model().door_count()) + ")";
  };
  switch (step.kind) {
    case StepKind::swipe: {
      if (auto missing = door_missing(step.door)) return fail(*missing);
      const AccessDecision d = s.swipe(Credential{step.card, step.pin, step.verify}, step.door);
      s.wake();
      return judge_swipe(step, d);
    }
    case StepKind::door_sensor:
      if (auto missing = door_missing(step.door)) return fail(*missing);
      s.set_door_sensor(step.door, step.open);
      out.detail = "door " + std::to_string(step.door) + " sensor " + door_word(step.open);
      return out;
    case StepKind::report:
      if (step.report == "errorlog") {
        s.report_errorlog(step.errcode, step.cmdid);
        out.detail = "error log " + step.errcode + " reported";
      } else if (step.report == "irstate") {
        s.report_irstate();
        out.detail = "channel counters reported";
      } else {
        if (s.report_wiegand() != 0) return fail("no Wiegand test running (CONTROL DEVICE 09 starts one)");
        out.detail = "Wiegand test reading reported";
      }
      return out;
    case StepKind::gate:
      s.pass_gate(step.in);
      out.detail = std::string("passed the gate ") + (step.in ? "in" : "out");
      return out;
    case StepKind::online:
      s.go_offline(clock::now());
      out.detail = "reconnecting";
      return out;
    case StepKind::enroll: {
      LocalEnrolment e;
      e.pin = step.pin;
      e.name = step.name;
      e.cardno = step.card;
      e.password = step.password;
      e.finger = step.finger;
      if (step.finger) {
        std::mt19937 random(static_cast<std::uint32_t>(step.line) * 7919u + 1u);
        e.template_base64 = step.template_base64 == "random" ? random_template(random) : step.template_base64;
      }
      if (int rc = s.enroll(e); rc != 0) return fail("the device refused the enrolment (" + std::to_string(rc) + ")");
      out.detail = "user " + step.pin + (step.finger ? " with finger " + std::to_string(*step.finger) : "") + " enrolled";
      return out;
    }
    case StepKind::expect_user: {
      const bool present = s.model().find("user", "Pin", step.pin) != nullptr;
      if (present != step.present) {
        return fail("user " + step.pin + (present ? " is in the device" : " is not in the device"));
      }
      out.detail = "user " + step.pin + (present ? " present" : " absent");
      return out;
    }
    case StepKind::expect_result: {
      const auto& results = s.results();
      const protocol::CommandResult* r = nullptr;
      for (auto it = results.rbegin(); it != results.rend(); ++it) {
        if (step.id.empty() || it->id == step.id) {
          r = &*it;
          break;
        }
      }
      if (r == nullptr) {
        return fail(step.id.empty() ? "no command result yet" : "no result for command " + step.id);
      }
      out.detail = "ID=" + r->id + " Return=" + std::to_string(r->return_code) + " CMD=" + r->cmd;
      if (r->return_code != *step.return_code) return fail(out.detail + ", expected Return=" + std::to_string(*step.return_code));
      if (!step.command.empty() && !same_verb(r->cmd, step.command)) {
        return fail(out.detail + ", expected CMD=" + step.command);
      }
      return out;
    }
    case StepKind::expect_door: {
      if (auto missing = door_missing(step.door)) return fail(*missing);
      const DoorState& d = s.model().door(step.door);
      out.detail = "door " + std::to_string(step.door) + " relay " +
                   (d.relay_open ? "disconnected" : "connected") + ", sensor " + door_word(d.sensor_open);
      if ((step.relay_open && *step.relay_open != d.relay_open) || (step.sensor_open && *step.sensor_open != d.sensor_open)) {
        return fail(out.detail);
      }
      return out;
    }
    case StepKind::expect_events:
      out.detail = "acknowledged up to event " + std::to_string(s.acked_index());
      if (s.acked_index() < step.count) return fail(out.detail + ", expected at least " + std::to_string(step.count));
      return out;
    default: break;  // the waits: execute() sends them to wait_step()
  }
  return fail("not an immediate step");
}

}  // namespace zkpush::emulator
