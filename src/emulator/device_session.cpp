#include "emulator/device_session.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "protocol/base64.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/command_results.hpp"
#include "protocol/control_device.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace asio = boost::asio;
namespace p = protocol;
using clock = std::chrono::steady_clock;

namespace {

constexpr int kVerifyCard = 4;
constexpr std::size_t kEventsKept = 20000;  // acknowledged events kept per device for ACCOUNT/QUERY
constexpr std::size_t kResultsKept = 256;
constexpr std::uint64_t kRangeChunk = 1u << 20;  // UPGRADE method 3: 1 MiB per request (9.4.1)

// A server's value, or the fallback when it is missing or negative. Capped at a day's worth of
// seconds or minutes: any larger delay is a server's mistake, and steady_clock arithmetic in
// nanoseconds overflows past about 290 years.
std::int64_t config_int(const p::Record& config, std::string_view key, std::int64_t fallback) {
  constexpr std::int64_t kMax = 86400;
  auto v = config.get_int(key);
  return v && *v >= 0 ? std::min(*v, kMax) : fallback;
}

}  // namespace

namespace {

// The registration of the device: a master controller says so (Appendix 15) and takes its commands
// in the CmdFormat=1 envelope (Appendix 14), which is how the server names a sub-controller.
p::Record session_registration(const SessionOptions& options) {
  p::Record r = registration_options(*options.profile, options.sn, options.ip);
  if (options.sub_controllers > 0) {
    r.set("CmdFormat", "1");
    r.set("MultiStageControlFunOn", "1");
    r.set("MasterControlOn", "1");
    r.set("SubControlOn", "0");
  }
  return r;
}

}  // namespace

SubControllerSim::SubControllerSim(std::string serial, const Profile& profile, const std::string& ip)
    : sn(std::move(serial)), model(sn, registration_options(profile, sn, ip), profile.doors) {
  // What a sub-controller tells its master about itself: a short key list while it waits, its
  // registration parameters (as a sub-controller) once step one allowed it to register.
  const auto& o = model.options();
  authorize_info = "~DeviceName=" + std::string(o.get_or("~DeviceName", profile.name)) +
                   ",FirmVer=" + std::string(o.get_or("FirmVer", ""));
}

DeviceSession::DeviceSession(const asio::any_io_executor& executor, SessionOptions options, Stats& stats)
    : executor_(executor),
      options_(std::move(options)),
      stats_(stats),
      model_(options_.sn, session_registration(options_), options_.profile->doors),
      http_(executor, options_.server),
      timer_(executor),
      random_(options_.seed) {
  max_package_size_ = static_cast<std::size_t>(model_.option_int("MaxPackageSize", 2048000));
  for (int i = 1; i <= options_.sub_controllers; ++i)
    subs_.push_back(std::make_unique<SubControllerSim>(options_.sn + "-S" + std::to_string(i), *options_.profile,
                                                       options_.ip));
}

SubControllerSim* DeviceSession::sub_controller(std::string_view sn) {
  for (auto& s : subs_)
    if (s->sn == sn) return s.get();
  return nullptr;
}

// ---- multi-level control ------------------------------------------------------------------------------

asio::awaitable<bool> DeviceSession::upload_device_authorize() {
  if (!authorize_dirty_ || subs_.empty()) co_return true;
  std::vector<p::Record> table;
  for (const auto& s : subs_) {
    p::Record r;
    r.add("SN", s->sn);
    r.add("Online", "1");
    r.add("IsAuthorize", std::to_string(s->is_authorize));
    r.add("AuthorizeInfo", s->authorize_info);
    r.add("RegisterInfo", s->register_info);
    table.push_back(std::move(r));
  }
  auto answer = co_await exchange(Exchange::tabledata, p::format_device_authorize_upload(options_.sn, table));
  if (!answer || answer->status != 200) co_return false;
  authorize_dirty_ = false;
  co_return true;
}

asio::awaitable<bool> DeviceSession::post_sub_results() {
  if (hold_sub_results_ || sub_results_.empty()) co_return true;
  const std::vector<p::Record> none;
  p::OutgoingRequest request = p::format_devicecmd_results(options_.sn, none);
  request.body = p::format_command_results(sub_results_);
  auto posted = co_await exchange(Exchange::devicecmd, request);
  if (!posted || posted->status != 200) co_return false;
  sub_results_.clear();
  co_return true;
}

std::optional<p::CommandResult> DeviceSession::authorize_step(const p::Command& command) {
  if (subs_.empty()) return std::nullopt;
  const p::Record* target = nullptr;
  std::optional<int> level;
  if (const auto* u = std::get_if<p::DataUpdate>(&command.body)) {
    if (!p::text::iequals(u->table, "DeviceAuthorize")) return std::nullopt;
    if (u->records.empty()) return p::make_command_result(command, ret::bad_parameter);
    target = &u->records.front();
    auto n = p::text::parse_int(target->get_or("IsAuthorize", ""));
    if (!n || (*n != 1 && *n != 2)) return p::make_command_result(command, ret::bad_parameter);
    level = static_cast<int>(*n);
  } else if (const auto* d = std::get_if<p::DataDelete>(&command.body)) {
    if (!p::text::iequals(d->table, "DeviceAuthorize")) return std::nullopt;
    target = &d->conditions;
  } else {
    return std::nullopt;
  }
  SubControllerSim* sub = sub_controller(target->get_or("SN", ""));
  if (!sub) return p::make_command_result(command, ret::bad_parameter);
  if (!level) {
    // Deleted from the table: the sub is back to asking (it is still wired to the master).
    sub->is_authorize = 0;
    sub->register_info.clear();
  } else if (*level == 1) {
    // Allowed to register: it does, and the master pushes its registration to the server.
    sub->is_authorize = 1;
    p::Record info;
    for (auto key : {"DeviceType", "~DeviceName", "FirmVer", "LockCount", "ReaderCount"})
      if (auto v = sub->model.options().get(key)) info.add(key, std::string(*v));
    info.add("MultiStageControlFunOn", "1");
    info.add("SubControlOn", "1");
    info.add("MasterControlOn", "0");
    sub->register_info = p::format_comma_list(info);
  } else {
    // The final step is only taken after the registration info went up (manual 5, step 4).
    if (sub->is_authorize < 1 || sub->register_info.empty())
      return p::make_command_result(command, ret::execution_error);
    sub->is_authorize = 2;
  }
  authorize_dirty_ = true;
  return p::make_command_result(command, ret::ok);
}

std::optional<p::CommandResult> DeviceSession::relay(const p::Command& command) {
  if (subs_.empty() || !command.envelope || command.envelope->sn.empty() || command.envelope->sn == options_.sn)
    return std::nullopt;
  SubControllerSim* sub = sub_controller(command.envelope->sn);
  p::CommandResult refused = p::make_command_result(command, ret::execution_error);
  refused.sn = command.envelope->sn;
  // Not one of ours, or not authorized: the master cannot pass it on.
  if (!sub || sub->is_authorize != 2) return refused;
  ExecutionContext ctx;
  ctx.now = local_now();
  ctx.unix_now = unix_now();
  ctx.max_package_size = max_package_size_;
  Execution e = sub->executor.execute(command, sub->model, ctx);
  e.result.sn = sub->sn;
  sub_results_.push_back(e.result);
  // The master took it; the sub's own result follows (7.4).
  return p::make_command_result(command, -5000);
}

void DeviceSession::start(std::function<void()> on_stopped) {
  on_stopped_ = std::move(on_stopped);
  auto self = shared_from_this();
  asio::co_spawn(executor_, [self]() -> asio::awaitable<void> { co_await self->run(); }, asio::detached);
}

void DeviceSession::stop() {
  stopping_ = true;
  timer_.cancel();
  http_.close();  // an exchange in flight ends now (aborted) rather than at its timeout
}

void DeviceSession::wake() {
  woken_ = true;
  timer_.cancel();
}

p::CivilTime DeviceSession::local_now() const {
  auto t = p::civil_from_unix(unix_now() + options_.tz_minutes * 60 + options_.clock_offset.count());
  return t ? *t : p::CivilTime{};
}

std::int64_t DeviceSession::unix_now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::chrono::milliseconds DeviceSession::poll_interval() const {
  if (options_.poll_interval) return *options_.poll_interval;
  return std::chrono::seconds(std::max<std::int64_t>(1, request_delay_s_));
}

asio::awaitable<bool> DeviceSession::sleep(clock::duration d) {
  if (stopping_) co_return false;
  if (woken_) {
    woken_ = false;
    co_return true;
  }
  timer_.expires_after(d);
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  woken_ = false;
  co_return !stopping_;
}

asio::awaitable<std::optional<HttpAnswer>> DeviceSession::exchange(Exchange kind, const p::OutgoingRequest& request) {
  const auto begin = clock::now();
  const p::OutgoingRequest out = sealed(kind, request);
  HttpAnswer answer = co_await http_.send(out, cookie_, timeout());
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - begin);
  if (!open_answer(kind, answer)) {
    stats_.record(kind, latency, false);
    stats_.record_reason(kind, "encryption mismatch");
    co_return std::nullopt;
  }
  const bool ok = answer.status >= 200 && answer.status < 300;
  if (stopping_ && answer.status == 0) co_return std::nullopt;  // aborted by stop(): not a server error
  stats_.record(kind, latency, ok);
  if (!ok) stats_.record_reason(kind, error_reason(answer.status, answer.body, answer.error));
  if (answer.status == 401 || answer.status == 403 || answer.status == 406) stats_.refused.fetch_add(1);
  if (answer.status == 0) {
    last_error_ = std::string(exchange_name(kind)) + ": " + answer.error;
    co_return std::nullopt;
  }
  if (!ok) last_error_ = std::string(exchange_name(kind)) + ": HTTP " + std::to_string(answer.status) + " " + answer.body.substr(0, 80);
  co_return answer;
}

// ---- encryption (docs/encryption.md) ----------------------------------------------------------------

p::OutgoingRequest DeviceSession::sealed(Exchange kind, const p::OutgoingRequest& request) {
  if (!channel_ || kind == Exchange::file || request.body.empty()) return request;
  p::OutgoingRequest out = request;
  out.body = channel_->seal(request.body);
  return out;
}

bool DeviceSession::open_answer(Exchange kind, HttpAnswer& answer) {
  if (!channel_ || kind == Exchange::file || answer.status == 0) return true;
  const bool success = answer.status >= 200 && answer.status < 300;
  if (!p::encryption::looks_encrypted(answer.body)) {
    if (!success) return true;  // the server's encryption layer refuses in plain text
    last_error_ = std::string(exchange_name(kind)) + ": plain-text answer in an encrypted session";
  } else {
    auto opened = channel_->open(answer.body);
    if (opened.ok) {
      answer.body = std::move(opened.plain);
      return true;
    }
    last_error_ = std::string(exchange_name(kind)) + ": answer refused (" +
                  std::string(p::encryption::failure_name(opened.failure)) + ")";
  }
  stats_.encryption_mismatches.fetch_add(1);
  return false;
}

asio::awaitable<bool> DeviceSession::exchange_keys() {
  // Appendix 16 (a): a new key pair at every connection.
  auto keys = p::encryption::KeyPair::generate();
  if (!keys) {
    last_error_ = "encryption: " + keys.error().to_string();
    co_return false;
  }
  const p::OutgoingRequest pub_request = p::format_exchange_publickey(options_.sn, keys->public_key());
  auto pub = co_await exchange(Exchange::exchange, pub_request);
  if (!pub) co_return false;  // no answer: the handshake starts again
  if (pub->status != 200) {
    // Refused (501: encryption off, 403: a version without it): plain text, Appendix 16 case 1.
    stats_.encryption_refused.fetch_add(1);
    co_return true;
  }
  const auto server_key = p::parse_exchange_answer(pub->body, "PublicKey");
  const std::string r1 = p::encryption::new_factor();
  auto r1_wire = server_key ? p::encryption::encrypt_factor(server_key->value, r1)
                            : p::Result<std::string>(server_key.error());
  if (!r1_wire) {
    stats_.encryption_mismatches.fetch_add(1);
    last_error_ = "exchange publickey: " + r1_wire.error().to_string();
    co_return false;
  }
  const p::OutgoingRequest fac_request = p::format_exchange_factors(options_.sn, *r1_wire);
  auto fac = co_await exchange(Exchange::exchange, fac_request);
  if (!fac || fac->status != 200) co_return false;
  const auto factors = p::parse_exchange_answer(fac->body, "Factors");
  auto r2 = factors ? keys->decrypt_factor(factors->value) : p::Result<std::string>(factors.error());
  auto channel = r2 ? p::encryption::Channel::derive(r1, *r2, p::encryption::Direction::device_to_server)
                    : p::Result<p::encryption::Channel>(r2.error());
  if (!channel) {
    stats_.encryption_mismatches.fetch_add(1);
    last_error_ = "exchange factors: " + channel.error().to_string();
    co_return false;
  }
  channel_ = std::move(*channel);
  stats_.encrypted_sessions.fetch_add(1);
  co_return true;
}

// ---- connection -------------------------------------------------------------------------------------

asio::awaitable<bool> DeviceSession::handshake() {
  cookie_.clear();
  channel_.reset();  // init ends the server's session too (the keys are exchanged again below)
  auto init = co_await exchange(Exchange::init, p::format_init_request(options_.sn));
  if (!init || init->status != 200) co_return false;
  auto init_answer = p::parse_init_answer(init->body);
  if (options_.encryption && !co_await exchange_keys()) co_return false;
  if (init_answer.registered) {
    registry_code_ = init_answer.registry_code;
  } else {
    auto reg = co_await exchange(Exchange::registry, p::format_registry_request(options_.sn, model_.options()));
    if (!reg) co_return false;
    auto accepted = p::parse_registry_answer(reg->status, reg->body);
    if (!accepted.accepted || accepted.registry_code.empty()) {
      last_error_ = "registration refused (HTTP " + std::to_string(reg->status) + ")";
      co_return false;
    }
    registry_code_ = accepted.registry_code;
  }
  auto push = co_await exchange(Exchange::push, p::format_push_config_request(options_.sn));
  if (!push || push->status != 200) co_return false;
  const p::Record config = p::parse_config_answer(push->body);
  session_id_ = std::string(config.get_or("SessionID", ""));
  request_delay_s_ = config_int(config, "RequestDelay", request_delay_s_);
  error_delay_s_ = config_int(config, "ErrorDelay", error_delay_s_);
  timeout_s_ = std::max<std::int64_t>(1, config_int(config, "TimeoutSec", timeout_s_));
  realtime_ = config_int(config, "Realtime", 1) != 0;
  trans_interval_min_ = config_int(config, "TransInterval", trans_interval_min_);
  if (auto times = config.get("TransTimes")) {
    auto parsed = p::parse_trans_times(*times);
    if (!parsed.empty()) trans_times_ = std::move(parsed);
  }
  schedule_trans_time();
  last_heartbeat_ = clock::now();
  cookie_ = "token=" + p::compute_token(registry_code_, options_.sn, session_id_);
  if (p::push_options_requested(config)) {
    auto up = co_await exchange(Exchange::options, p::format_options_upload(options_.sn, model_.options()));
    if (!up || up->status != 200) co_return false;
  }
  co_return true;
}

// ---- the device's loop ------------------------------------------------------------------------------

asio::awaitable<void> DeviceSession::run() {
  auto self = shared_from_this();  // alive until the coroutine ends
  started_ = clock::now();
  last_batch_upload_ = started_;
  schedule_trans_time();
  bool ever_registered = false;
  while (!stopping_) {
    if (clock::now() < offline_until_) {
      if (!co_await sleep(offline_until_ - clock::now())) break;
      continue;
    }
    if (!co_await handshake()) {
      http_.close();
      if (!co_await sleep(std::chrono::seconds(std::max<std::int64_t>(1, error_delay_s_)))) break;
      continue;
    }
    if (!ever_registered) {
      ever_registered = true;
      stats_.devices_registered.fetch_add(1);
    }
    online_ = true;
    stats_.devices_online.fetch_add(1);
    doors_dirty_ = true;
    authorize_dirty_ = !subs_.empty();  // pushed when the master starts (manual 5)
    // Spread the first polls of many devices over one interval instead of a thundering herd.
    auto next_poll = clock::now() + std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(
                                        0, std::max<std::int64_t>(0, poll_interval().count() - 1))(random_));
    bool failed = false;
    bool restart = false;
    while (!stopping_ && !failed) {
      if (clock::now() < offline_until_) break;
      generate_due_events();
      expire_relays();
      if (!co_await upload_enrolled() || !co_await upload_device_authorize() || !co_await upload_events(false) ||
          !co_await upload_rtstate()) {
        failed = true;
        break;
      }
      if (clock::now() >= next_poll) {
        const std::uint64_t before = commands_executed_;
        if (!co_await poll()) {
          failed = true;
          break;
        }
        next_poll = clock::now() + poll_interval();
        // A restart command answered: reconnect from init.
        if (restart_requested_) {
          restart_requested_ = false;
          restart = true;
          break;
        }
        // Commands may have produced events and door changes: send them before sleeping.
        if (commands_executed_ > before) continue;
      }
      auto wake_at = next_poll;
      if (options_.events_per_second > 0) {
        const double next_event_s = static_cast<double>(events_generated_ + 1) / options_.events_per_second;
        wake_at = std::min(wake_at, started_ + std::chrono::duration_cast<clock::duration>(
                                                   std::chrono::duration<double>(next_event_s)));
      }
      if (!realtime_ && acked_index_ < (model_.events().empty() ? 0 : model_.events().back().index)) {
        wake_at = std::min(wake_at, next_batch_due());
      }
      if (!co_await sleep(std::max<clock::duration>(wake_at - clock::now(), clock::duration::zero()))) break;
    }
    online_ = false;
    stats_.devices_online.fetch_sub(1);
    http_.close();
    if (failed && !stopping_) {
      if (!co_await sleep(std::chrono::seconds(std::max<std::int64_t>(1, error_delay_s_)))) break;
    } else if (restart && !stopping_) {
      if (!co_await sleep(std::chrono::seconds(1))) break;
    }
  }
  http_.close();
  if (on_stopped_) on_stopped_();
}

asio::awaitable<bool> DeviceSession::poll() {
  // The sub-controllers' results of the commands relayed at earlier polls go first.
  if (!co_await post_sub_results()) co_return false;
  auto answer = co_await exchange(Exchange::getrequest, p::format_getrequest(options_.sn));
  if (!answer || answer->status != 200) co_return false;
  last_heartbeat_ = clock::now();
  auto commands = p::parse_commands(answer->body);
  if (!commands) {
    last_error_ = "getrequest: unreadable commands: " + commands.error().to_string();
    stats_.record_error(Exchange::getrequest, "unreadable commands");
    co_return true;  // nothing to run; the connection itself is fine
  }
  // Final answers of earlier commands that are due go first (their first answer went in an earlier
  // devicecmd); the others wait.
  std::vector<DeferredResult> due;
  const auto now = clock::now();
  for (auto it = deferred_results_.begin(); it != deferred_results_.end();) {
    if (it->due > now) {
      ++it;
      continue;
    }
    due.push_back(std::move(*it));
    it = deferred_results_.erase(it);
  }
  std::vector<p::CommandResult> results;
  results.reserve(due.size());
  for (const auto& d : due) results.push_back(d.result);
  const std::size_t earlier = results.size();
  bool executed = true;
  for (const auto& command : *commands) {
    auto handled = authorize_step(command);
    if (!handled) handled = relay(command);
    if (handled) {
      ++commands_executed_;
      results_.push_back(*handled);
      results.push_back(*handled);
      continue;
    }
    if (!(executed = co_await execute(command))) break;
    results.push_back(results_.back());
  }
  if (!executed) {
    deferred_results_.insert(deferred_results_.begin(), due.begin(), due.end());
    co_return false;
  }
  if (results.empty()) co_return true;
  const std::vector<p::Record> none;
  p::OutgoingRequest request = p::format_devicecmd_results(options_.sn, none);
  request.body = p::format_command_results(results);
  auto posted = co_await exchange(Exchange::devicecmd, request);
  const bool ok = posted && posted->status == 200;
  if (!ok) {
    // Not delivered: the final answers go with the next devicecmd.
    deferred_results_.insert(deferred_results_.begin(), due.begin(), due.end());
  } else {
    for (std::size_t i = 0; i < earlier; ++i) results_.push_back(results[i]);
    while (results_.size() > kResultsKept) results_.pop_front();
  }
  co_return ok;
}

asio::awaitable<bool> DeviceSession::execute(const p::Command& command) {
  ExecutionContext ctx;
  ctx.now = local_now();
  ctx.unix_now = unix_now();
  ctx.max_package_size = max_package_size_;
  ctx.account_controller_form = options_.profile->account_controller_form;
  Execution e = executor_commands_.execute(command, model_, ctx);
  for (const auto& upload : e.uploads) {
    const Exchange kind = upload.target.rfind("/iclock/querydata", 0) == 0 ? Exchange::querydata
                          : upload.target.rfind("/iclock/file", 0) == 0    ? Exchange::file
                                                                           : Exchange::tabledata;
    auto answer = co_await exchange(kind, upload);
    if (!answer || answer->status != 200) {
      // The data did not arrive: forget the command so that the server's re-send runs it again
      // instead of being answered "repeated".
      executor_commands_.forget(command.id);
      co_return false;
    }
  }
  if (e.upgrade) {
    e.result.return_code = co_await download(*e.upgrade);
    // A firmware (not a resource file of method 2's other types) installed: the panel runs a new
    // version, named after the package's checksum, and says so as a real one does after its restart.
    if (e.result.return_code == 0 && e.upgrade->type == "1") {
      const std::string version = "ZK-EMU upgraded " + e.upgrade->checksum.substr(0, 8);
      model_.set_option("FirmVer", version);
      const p::Record changed{{"FirmVer", version}};
      const auto upload = p::format_options_upload(options_.sn, changed);
      co_await exchange(Exchange::options, upload);
    }
  }
  if (e.test_host) {
    if (auto address = parse_server_url(*e.test_host)) {
      HttpClient target(executor_, *address);
      auto answer = co_await target.send(p::format_ping(options_.sn), "", std::chrono::seconds(3));
      e.result.return_code = answer.status != 0 ? 0 : -1;
    } else {
      e.result.return_code = ret::bad_parameter;
    }
  }
  if (e.doors_changed) doors_dirty_ = true;
  if (e.restart) restart_requested_ = true;
  if (e.final_result) deferred_results_.push_back({*e.final_result, clock::now() + options_.adscreen_download});
  ++commands_executed_;
  stats_.commands_executed.fetch_add(1);
  results_.push_back(e.result);
  while (results_.size() > kResultsKept) results_.pop_front();
  co_return true;
}

asio::awaitable<int> DeviceSession::download(const p::Upgrade& upgrade) {
  std::string file;
  if (upgrade.method == 3) {
    // Ranged pulls of at most 1 MiB; a server that ignores Range answers 200 with the whole file.
    while (file.size() < upgrade.size || upgrade.size == 0) {
      const std::uint64_t from = file.size();
      const std::uint64_t to = upgrade.size == 0 ? from + kRangeChunk - 1 : std::min(upgrade.size, from + kRangeChunk) - 1;
      auto answer = co_await exchange(Exchange::file, p::format_firmware_range_request(upgrade.url, from, to));
      if (!answer) co_return -1;
      if (answer->status == 404) co_return ret::no_such_file;
      if (answer->status == 200) {
        file = std::move(answer->body);
        break;
      }
      if (answer->status != 206 || answer->body.empty()) co_return ret::length_mismatch;
      file += answer->body;
      if (upgrade.size == 0 && answer->body.size() < kRangeChunk) break;
    }
  } else {
    auto answer = co_await exchange(Exchange::file, p::format_firmware_file_request(options_.sn, upgrade.url));
    if (!answer) co_return -1;
    if (answer->status == 404) co_return ret::no_such_file;
    if (answer->status != 200) co_return ret::execution_error;
    file = std::move(answer->body);
  }
  co_return verify_download(upgrade, std::move(file));
}

// ---- uploads --------------------------------------------------------------------------------------------

asio::awaitable<bool> DeviceSession::upload_events(bool force) {
  if (model_.events().empty() || model_.events().back().index <= acked_index_) co_return true;
  if (!realtime_ && !force && clock::now() < next_batch_due()) co_return true;
  // Batches from the first event not yet acknowledged (indexes increase along the log). No iterator
  // is held across the upload: a swipe or a command may append to the log meanwhile.
  for (;;) {
    const auto& log = model_.events();
    auto it = std::upper_bound(log.begin(), log.end(), acked_index_,
                               [](std::int64_t index, const DeviceModel::Event& e) { return index < e.index; });
    if (it == log.end()) break;
    std::vector<p::Record> batch;
    std::int64_t last = acked_index_;
    for (; it != log.end() && batch.size() < options_.rtlog_batch; ++it) {
      batch.push_back(DeviceModel::rtlog_record(*it));
      last = it->index;
    }
    const p::OutgoingRequest request = p::format_rtlog_upload(options_.sn, batch);
    auto answer = co_await exchange(Exchange::rtlog, request);
    if (!answer || answer->status != 200) co_return false;
    acked_index_ = last;
    stats_.events_acked.fetch_add(batch.size());
    // More of the backlog to come: keep the heartbeat with ping. After the last batch the loop's
    // own getrequest does it.
    const bool more = !model_.events().empty() && model_.events().back().index > acked_index_;
    if (more && !co_await heartbeat_if_due()) co_return false;
  }
  last_batch_upload_ = clock::now();
  schedule_trans_time();
  model_.trim_events(acked_index_, kEventsKept);
  co_return true;
}

void DeviceSession::schedule_trans_time() {
  // The first TransTimes point after the last batch, on the device's wall clock.
  const auto now = local_now();
  const auto until = p::minutes_until_next(trans_times_, now.hour * 60 + now.minute);
  next_trans_time_ = until ? clock::now() + std::chrono::minutes(*until) - std::chrono::seconds(now.second)
                           : clock::time_point::max();
}

clock::time_point DeviceSession::next_batch_due() const {
  clock::time_point due = next_trans_time_;
  if (trans_interval_min_ > 0) due = std::min(due, last_batch_upload_ + std::chrono::minutes(trans_interval_min_));
  return due;
}

asio::awaitable<bool> DeviceSession::heartbeat_if_due() {
  if (clock::now() < last_heartbeat_ + poll_interval()) co_return true;
  auto answer = co_await exchange(Exchange::ping, p::format_ping(options_.sn));
  if (!answer || answer->status != 200) co_return false;
  last_heartbeat_ = clock::now();
  co_return true;
}

asio::awaitable<bool> DeviceSession::upload_rtstate() {
  if (!doors_dirty_ || model_.door_count() == 0) co_return true;
  // Named first: GCC 12 mis-compiles a braced list inside a co_await expression.
  const std::vector<p::Record> state{model_.rtstate_record(local_now())};
  const p::OutgoingRequest request = p::format_rtstate_upload(options_.sn, state);
  // Cleared before the exchange: a door that changes while it is in flight marks the state again
  // (cleared after it, that change was never sent).
  doors_dirty_ = false;
  auto answer = co_await exchange(Exchange::rtstate, request);
  if (!answer || answer->status != 200) {
    doors_dirty_ = true;
    co_return false;
  }
  co_return true;
}

// ---- simulated world ----------------------------------------------------------------------------------

void DeviceSession::generate_due_events() {
  if (options_.events_per_second <= 0) return;
  const double elapsed = std::chrono::duration<double>(clock::now() - started_).count();
  const auto due = static_cast<std::uint64_t>(std::floor(elapsed * options_.events_per_second));
  const auto& users = model_.rows("user");
  std::uniform_int_distribution<int> door_of(1, std::max(1, model_.door_count()));
  while (events_generated_ < due) {
    ++events_generated_;
    Credential credential;
    // Mostly known cards when the device has users; strangers otherwise.
    std::uniform_int_distribution<std::size_t> pick(0, users.size() + users.size() / 4);
    const std::size_t i = users.empty() ? 0 : pick(random_);
    if (options_.swipe_cards) {
      credential.cardno = std::to_string(
          std::uniform_int_distribution<std::uint64_t>(options_.swipe_cards->first, options_.swipe_cards->last)(random_));
    } else if (i < users.size() && !users[i].get_or("CardNo", "").empty()) {
      credential.cardno = std::string(users[i].get_or("CardNo", ""));
    } else {
      credential.cardno = std::to_string(std::uniform_int_distribution<std::uint32_t>(1000000, 99999999)(random_));
    }
    credential.verifytype = kVerifyCard;
    swipe(credential, door_of(random_));
  }
}

AccessDecision DeviceSession::swipe(const Credential& credential, int door) {
  if (options_.remote_auth) {
    // The session stays alive until the answer is in (the coroutine holds it).
    asio::co_spawn(
        executor_,
        [self = shared_from_this(), credential, door]() -> asio::awaitable<void> { co_await self->verify_remotely(credential, door); },
        asio::detached);
    AccessDecision pending;
    pending.event = -1;  // asked; the server's answer decides
    return pending;
  }
  AccessDecision d = decide_access(model_, credential, door, local_now());
  log_access(credential, door, d.pin, d.event);
  if (d.granted()) {
    const int seconds = model_.option_int("Door" + std::to_string(door) + "Drivertime", 5);
    open_relay(door, seconds);
    // An elevator panel also releases the floors the user's privilege (userleauthorize) names.
    for (unsigned floor : model_.user_floors(d.pin)) model_.panel().floors_open[floor] = unix_now() + seconds;
  }
  return d;
}

void DeviceSession::log_access(const Credential& credential, int door, const std::string& pin, int event) {
  DeviceModel::Event e;
  e.time = local_now();
  e.pin = pin.empty() ? "0" : pin;
  e.cardno = credential.cardno.empty() ? "0" : credential.cardno;
  e.door = door;
  e.event = event;
  e.inout = 0;
  e.verifytype = credential.verifytype;
  model_.log(e);
  stats_.events_generated.fetch_add(1);
}

void DeviceSession::open_relay(int door, int seconds) {
  if (door < 1 || door > model_.door_count()) return;
  DoorState& s = model_.door(door);
  if (s.relay_open != (seconds > 0)) doors_dirty_ = true;
  s.relay_open = seconds > 0;
  s.relay_until = seconds > 0 ? unix_now() + seconds : 0;
}

asio::awaitable<AccessDecision> DeviceSession::verify_remotely(const Credential& asked, int door) {
  const Credential credential = asked;
  const AccessDecision local = decide_access(model_, credential, door, local_now());
  const p::Record record{{"time", p::format_datetime(local_now())},
                         {"pin", credential.pin.empty() ? local.pin : credential.pin},
                         {"cardno", credential.cardno.empty() ? "0" : credential.cardno},
                         {"addrtype", "2"},
                         {"eventaddr", std::to_string(door)},
                         {"event", "0"},
                         {"inoutstatus", "0"},
                         {"verifytype", std::to_string(credential.verifytype)}};
  std::optional<p::RemoteAuthAnswer> answer;
  if (!stopping_ && clock::now() >= offline_until_) {
    std::unique_ptr<HttpClient> client;
    if (auth_idle_.empty()) {
      client = std::make_unique<HttpClient>(executor_, options_.server);
    } else {
      client = std::move(auth_idle_.back());
      auth_idle_.pop_back();
    }
    const auto begin = clock::now();
    const p::OutgoingRequest asked = sealed(Exchange::auth, p::format_remote_auth_request(options_.sn, record));
    HttpAnswer a = co_await client->send(asked, cookie_, options_.remote_auth_timeout);
    if (!open_answer(Exchange::auth, a)) a.status = 0;
    if (a.status != 0) auth_idle_.push_back(std::move(client));  // a failed connection is dropped
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - begin);
    if (a.status == 200) {
      if (auto parsed = p::parse_remote_auth_answer(a.body)) answer = *parsed;
    }
    const bool ok = answer.has_value() && answer->auth != p::AuthResult::timeout;
    stats_.record(Exchange::auth, latency, ok);
    if (!ok) stats_.record_reason(Exchange::auth, a.status == 200 ? "AUTH=TIMEOUT or unreadable" : error_reason(a.status, a.body, a.error));
  }
  AccessDecision d;
  d.cardno = std::string(record.get_or("cardno", "0"));
  d.pin = std::string(record.get_or("pin", "0"));
  if (answer && answer->auth == p::AuthResult::success) {
    d.event = event_code::remote_granted;
    log_access(credential, door, d.pin, d.event);
    // Obeyed as the server said: its CONTROL DEVICE opens the door for its seconds.
    if (auto control = p::parse_control_device(answer->control); control && control->aa == 1 && control->cc == 1)
      open_relay(control->bb, control->dd);
  } else if (answer && answer->auth == p::AuthResult::failed) {
    d.event = event_code::remote_failed;
    log_access(credential, door, d.pin, d.event);
  } else {
    d.event = event_code::remote_timeout;
    log_access(credential, door, d.pin, d.event);
    if (options_.remote_auth_fallback_local) {
      d = local;
      log_access(credential, door, d.pin, d.event);
      if (d.granted()) open_relay(door, model_.option_int("Door" + std::to_string(door) + "Drivertime", 5));
    }
  }
  wake();
  co_return d;
}

void DeviceSession::set_door_sensor(int door, bool open) {
  if (door < 1 || door > model_.door_count()) return;
  if (model_.door(door).sensor_open == open) return;
  model_.door(door).sensor_open = open;
  DeviceModel::Event e;
  e.time = local_now();
  e.door = door;
  e.event = open ? event_code::door_opened : event_code::door_closed;
  e.inout = 2;
  e.verifytype = 200;
  model_.log(e);
  stats_.events_generated.fetch_add(1);
  doors_dirty_ = true;
  wake();
}

void DeviceSession::expire_relays() {
  const std::int64_t now = unix_now();
  // Elevator floors released for a time (CONTROL DEVICE 17) switch off again.
  std::erase_if(model_.panel().floors_open, [now](const auto& floor) { return floor.second != 0 && floor.second <= now; });
  for (int d = 1; d <= model_.door_count(); ++d) {
    DoorState& s = model_.door(d);
    if (s.relay_open && s.relay_until != 0 && s.relay_until <= now) {
      s.relay_open = false;
      s.relay_until = 0;
      doors_dirty_ = true;
    }
  }
}

void DeviceSession::go_offline(clock::time_point until) {
  offline_until_ = until;
  wake();
}

// ---- local enrolment -------------------------------------------------------------------------------

int DeviceSession::enroll(const LocalEnrolment& enrolment) {
  if (enrolment.pin.empty()) return ret::bad_parameter;
  if (enrolment.finger && (*enrolment.finger < 0 || *enrolment.finger > 9 || enrolment.template_base64.empty())) {
    return ret::bad_parameter;
  }
  // Stored in the server's spelling, as a DATA UPDATE would have: the model has one user table.
  p::Record user{{"CardNo", enrolment.cardno}, {"Pin", enrolment.pin}, {"Password", enrolment.password},
                 {"Group", "1"}, {"StartTime", "0"}, {"EndTime", "0"}, {"Name", enrolment.name},
                 {"Privilege", "0"}, {"Disable", "0"}, {"Verify", "0"}};
  if (int rc = model_.put("user", std::move(user)); rc != ret::ok) return rc;
  // The upload records come from the model's query, so they carry the layout of 7.5/7.7 (uid first,
  // every field present) exactly as a DATA QUERY answer of the same rows would.
  p::DataQuery user_query;
  user_query.table = "user";
  user_query.filter.add("Pin", enrolment.pin);
  enrolled_uploads_.push_back(p::format_tabledata_upload(options_.sn, "user", model_.query(user_query)));
  if (enrolment.finger) {
    const std::string finger = std::to_string(*enrolment.finger);
    p::Record fp{{"Pin", enrolment.pin}, {"FingerID", finger}, {"Valid", "1"}, {"Template", enrolment.template_base64}};
    if (int rc = model_.put("templatev10", std::move(fp)); rc != ret::ok) return rc;
    p::DataQuery fp_query;
    fp_query.table = "templatev10";
    fp_query.filter.add("Pin", enrolment.pin);
    fp_query.filter.add("FingerID", finger);
    auto records = model_.query(fp_query);
    // 7.7: size is the length of the base64 text; the model does not keep it as a field.
    for (auto& r : records) r.set("size", std::to_string(enrolment.template_base64.size()));
    enrolled_uploads_.push_back(p::format_tabledata_upload(options_.sn, "templatev10", records));
  }
  wake();
  return ret::ok;
}

void DeviceSession::report_errorlog(const std::string& code, const std::string& cmdid) {
  p::Record r{{"errcode", code}, {"errmsg", ""}, {"dataorigin", cmdid.empty() ? "dev" : "cmd"}, {"cmdid", cmdid},
              {"additional", ""}};
  enrolled_uploads_.push_back(p::format_tabledata_upload(options_.sn, "errorlog", {r}));
  wake();
}

void DeviceSession::report_irstate() {
  enrolled_uploads_.push_back(p::format_irstate_upload(options_.sn, {model_.irstate_record()}));
  wake();
}

int DeviceSession::report_wiegand() {
  if (!model_.panel().wiegand_test) return ret::execution_error;
  enrolled_uploads_.push_back(p::format_testdata_upload(options_.sn, {model_.wiegand_reading()}));
  wake();
  return ret::ok;
}

void DeviceSession::finish_downloads() {
  for (auto& d : deferred_results_) d.due = clock::now();
  wake();
}

void DeviceSession::pass_gate(bool in) {
  PanelState& panel = model_.panel();
  ++(in ? panel.incount : panel.outcount);
  ++panel.runcount;
  report_irstate();
}

asio::awaitable<bool> DeviceSession::upload_enrolled() {
  while (!enrolled_uploads_.empty()) {
    // A copy: enroll() may queue more while this one is on the wire.
    const p::OutgoingRequest request = enrolled_uploads_.front();
    auto answer = co_await exchange(Exchange::tabledata, request);
    if (!answer || answer->status != 200) co_return false;
    enrolled_uploads_.pop_front();
  }
  co_return true;
}

}  // namespace zkpush::emulator
