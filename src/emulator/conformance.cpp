// The conformance run: one emulated device going through the manual's flows in order, each
// exchange judged against what the manual (or, where it is silent, the catalogue) requires.
#include "emulator/conformance.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <map>
#include <random>

#include "emulator/command_executor.hpp"
#include "emulator/device_model.hpp"
#include "protocol/base64.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/encryption.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace asio = boost::asio;
namespace p = protocol;

namespace {

constexpr std::size_t kExcerptBytes = 200;
constexpr std::size_t kRegistryCodeMax = 32;  // 4.1: "up to 32 bytes"

std::string excerpt(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size() && i < kExcerptBytes; ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (body.size() > kExcerptBytes) out += "...";
  return out;
}

// Optional endpoints a server may simply not have.
bool declined(int status) { return status == 404 || status == 501; }
// A server that keeps devices out until an operator acts (field notes: 406 and its cousins).
bool refused(int status) { return status == 401 || status == 403 || status == 406; }

std::string random_sn(std::mt19937& random) {
  char sn[16];
  std::snprintf(sn, sizeof sn, "CFT%08X", static_cast<unsigned>(random()));
  return sn;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string status_text(int status) { return "HTTP " + std::to_string(status); }

// Small but real payloads: what a device sends, shortened (base64 that decodes). The NOLINT: an
// allocation of a few bytes failing before main() has nothing better to do than terminate.
// NOLINTBEGIN(cert-err58-cpp)
const std::string kPhoto = p::base64_encode(std::string("\xff\xd8\xff\xe0 conformance photo \xff\xd9", 24));
const std::string kTemplate = p::base64_encode(std::string(48, '\x5a'));
// NOLINTEND(cert-err58-cpp)

struct TableUpload {
  std::string_view id;
  std::string_view table;                    // tablename= as the device sends it
  std::vector<std::string_view> ack_names;   // acceptable "<name>=" of the answer, first = the manual's
  bool optional;                             // depends on the device's features: 404/501 is N/A
};

}  // namespace

class ConformanceRunner {
 public:
  ConformanceRunner(const asio::any_io_executor& executor, ConformanceOptions options)
      : executor_(executor),
        options_(std::move(options)),
        random_(std::random_device{}()),
        profile_(options_.profile != nullptr ? options_.profile : &profiles().front()),
        sn_(options_.sn.empty() ? random_sn(random_) : options_.sn),
        model_(sn_, registration_options(*profile_, sn_, options_.ip), profile_->doors),
        http_(executor, options_.server) {}

  asio::awaitable<ConformanceReport> run() {
    report_.server = options_.server.host_header();
    report_.sn = sn_;
    report_.profile = std::string(profile_->name);
    // Awaited into a variable first: GCC 12 mis-compiles a co_await inside an if condition.
    const bool connected = co_await handshake();
    if (connected) co_await session();
    http_.close();
    finish();
    co_return std::move(report_);
  }

 private:
  // ---- bookkeeping -----------------------------------------------------------------------------------

  CheckResult& begin(std::string_view id) {
    CheckResult& r = results_[std::string(id)];
    r.check = find_check(id);
    return r;
  }
  static void pass(CheckResult& r, std::string remark = {}) {
    r.verdict = Verdict::pass;
    r.reason = std::move(remark);
  }
  static void fail(CheckResult& r, std::string reason) {
    r.verdict = Verdict::fail;
    r.reason = std::move(reason);
  }
  static void not_supported(CheckResult& r, std::string reason) {
    r.verdict = Verdict::not_supported;
    r.reason = std::move(reason);
  }
  static void blocked(CheckResult& r, std::string reason) {
    r.verdict = Verdict::blocked;
    r.reason = std::move(reason);
  }

  // The server kept the device out (init refused, registration refused or not approved): the
  // checks after it are blocked, not "not supported", and the run exits with its own status.
  void keep_out(std::string why) {
    report_.blocked_reason = std::move(why);
    skipped_ = "not run: " + report_.blocked_reason;
  }

  // Every check of the catalogue gets a row; those the run never reached say why.
  void finish() {
    for (const auto& check : conformance_checks()) {
      auto it = results_.find(std::string(check.id));
      if (it == results_.end()) {
        CheckResult r;
        r.check = &check;
        const std::string why = skipped_.empty() ? "not run" : skipped_;
        if (report_.blocked()) {
          blocked(r, why);
        } else {
          not_supported(r, why);
        }
        report_.results.push_back(std::move(r));
      } else {
        report_.results.push_back(std::move(it->second));
      }
    }
  }

  // Coroutine parameters stay references to caller-owned values: GCC 12 frees by-value strings of a
  // coroutine twice when they are built from temporaries at the call (seen as free(): invalid pointer).
  // The cookie is empty until push, so the handshake goes without one as a device's does.
  asio::awaitable<HttpAnswer> exchange(CheckResult& r, const p::OutgoingRequest& request) {
    HttpAnswer answer = co_await http_.send(request, cookie_, options_.timeout);
    ExchangeRecord e;
    e.request = request.method + " " + request.target;
    for (const auto& h : request.headers) {
      if (!p::text::iequals(h.name, "Content-Type")) e.request += " [" + h.name + ": " + h.value + "]";
    }
    e.status = answer.status;
    e.excerpt = answer.status == 0 ? answer.error : excerpt(answer.body);
    r.exchanges.push_back(std::move(e));
    co_return answer;
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer timer(executor_);
    timer.expires_after(d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // 200 with the body OK (the manual's answer to plain uploads and the heartbeat).
  static void judge_ok(CheckResult& r, const HttpAnswer& a) {
    if (a.status == 0) return fail(r, "no answer: " + a.error);
    if (a.status != 200) return fail(r, status_text(a.status) + ", expected 200 OK");
    if (!p::is_ok(a.body)) return fail(r, "200 but the body is not OK");
    pass(r);
  }

  // What the last exchange of `r` was about, shown after its request line.
  static void note(CheckResult& r, const std::string& text) {
    if (!r.exchanges.empty() && !text.empty()) r.exchanges.back().request += " (" + text + ")";
  }

  asio::awaitable<void> expect_ok(CheckResult& r, const p::OutgoingRequest& request) {
    HttpAnswer a = co_await exchange(r, request);
    judge_ok(r, a);
  }

  // After a request the manual gives no answer for, the server must still be there.
  asio::awaitable<bool> still_answering(CheckResult& r) {
    const p::OutgoingRequest ping = p::format_ping(sn_);
    HttpAnswer a = co_await exchange(r, ping);
    note(r, "is the server still answering?");
    if (a.status != 0) co_return true;
    fail(r, "the server stopped answering after this request: " + a.error);
    co_return false;
  }

  // ---- 4: initialisation, registration, configuration ------------------------------------------------

  asio::awaitable<bool> handshake() {
    CheckResult& init = begin("init");
    const p::OutgoingRequest request = p::format_init_request(sn_);
    HttpAnswer a = co_await exchange(init, request);
    if (a.status == 0) {
      report_.reachable = false;
      report_.unreachable_reason = a.error;
      fail(init, "no answer: " + a.error);
      skipped_ = "not run: the server is unreachable";
      co_return false;
    }
    report_.reachable = true;
    judge_init(init, a);
    judge_date(a, init.exchanges.back());
    if (refused(a.status)) {
      keep_out("the server refuses serial number " + sn_ + " at init (" + status_text(a.status) +
               "); pass --sn of a device it allows");
      co_return false;
    }

    co_await check_unknown_init();
    co_await check_exchange();
    const bool registered = co_await registration();
    if (!registered) co_return false;
    co_await check_registered_init();
    const bool configured = co_await push_config();
    co_return configured;
  }

  void judge_init(CheckResult& r, const HttpAnswer& a) {
    if (refused(a.status)) {
      return blocked(r, status_text(a.status) + ": the server refuses this serial number (allow-list?)");
    }
    if (a.status != 200) return fail(r, status_text(a.status) + ", expected 200");
    const p::InitAnswer init = p::parse_init_answer(a.body);
    if (init.registered) {
      if (init.registry_code.empty()) return fail(r, "registry=ok without RegistryCode (4.1)");
      if (init.registry_code.size() > kRegistryCodeMax) return fail(r, "RegistryCode longer than 32 bytes (4.1)");
      registry_code_ = init.registry_code;
      if (auto s = init.config.get("SessionID")) init_session_ = std::string(*s);
      return pass(r, "device already registered");
    }
    if (!p::is_ok(a.body)) return fail(r, "200 but neither OK nor registry=ok/RegistryCode=");
    pass(r, "not registered yet");
  }

  void judge_date(const HttpAnswer& a, const ExchangeRecord& e) {
    CheckResult& r = begin("init-date");
    r.exchanges.push_back(e);
    if (a.status == 0) return fail(r, "no answer");
    auto date = a.header("Date");
    if (!date) return fail(r, "no Date header: the device cannot set its clock (4.1, \"${Required}\")");
    if (date->find("GMT") == std::string_view::npos) return fail(r, "Date is not in GMT: " + std::string(*date));
    pass(r, std::string(*date));
  }

  asio::awaitable<void> check_unknown_init() {
    CheckResult& r = begin("init-unknown");
    const std::string fresh = random_sn(random_);
    const p::OutgoingRequest request = p::format_init_request(fresh);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (refused(a.status)) {
      co_return not_supported(r, status_text(a.status) + ": the server refuses devices it does not know");
    }
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200 OK");
    if (p::parse_init_answer(a.body).registered) {
      co_return fail(r, "a serial number never seen before (" + fresh + ") is told it is registered (4.1)");
    }
    if (!p::is_ok(a.body)) co_return fail(r, "200 but the body is not OK");
    pass(r, "as " + fresh);
  }

  asio::awaitable<void> check_exchange() {
    CheckResult& r = begin("exchange");
    // A real key of our scheme (docs/encryption.md), so that a zkpush server with encryption on can
    // answer; another server's scheme may refuse it, which reads as "not supported".
    auto keys = p::encryption::KeyPair::generate();
    const p::OutgoingRequest request =
        p::format_exchange_publickey(sn_, keys ? keys->public_key() : std::string("conformance-public-key"));
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if ((a.status >= 400 && a.status < 500) || a.status == 501) {
      co_return not_supported(r, status_text(a.status) + ": communication encryption not supported (optional)");
    }
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200 PublicKey= or a refusal");
    if (!p::parse_exchange_answer(a.body, "PublicKey")) co_return fail(r, "200 without PublicKey=");
    pass(r);
  }

  asio::awaitable<bool> registration() {
    CheckResult& r = begin("registry");
    const auto deadline = std::chrono::steady_clock::now() + options_.wait_approval;
    int attempts = 0;
    for (;;) {
      ++attempts;
      const p::OutgoingRequest request = p::format_registry_request(sn_, model_.options());
      HttpAnswer a = co_await exchange(r, request);
      if (attempts > 1) note(r, "attempt " + std::to_string(attempts));
      // Only the first and the latest attempt are worth showing.
      if (r.exchanges.size() > 2) r.exchanges.erase(r.exchanges.begin() + 1);
      if (a.status == 0) {
        fail(r, "no answer: " + a.error);
        break;
      }
      const p::RegistryAnswer answer = p::parse_registry_answer(a.status, a.body);
      if (answer.accepted) {
        if (answer.registry_code.size() > kRegistryCodeMax) {
          fail(r, "RegistryCode longer than 32 bytes (4.1)");
          break;
        }
        registry_code_ = answer.registry_code;
        pass(r, attempts > 1 ? "accepted after " + std::to_string(attempts) + " attempts" : std::string());
        co_return true;
      }
      if (a.status == 406 || a.status == 401 || a.status == 403) {
        if (std::chrono::steady_clock::now() + options_.approval_retry <= deadline) {
          co_await sleep(options_.approval_retry);
          continue;
        }
        blocked(r, "registration refused: " + refusal_meaning(a.status) + " (" + std::to_string(attempts) +
                       " attempt(s)); approve " + sn_ + " on the server and run again, or give --wait-approval S");
        keep_out("device " + sn_ + " could not register: " + refusal_meaning(a.status));
        unlearnt_before_registration();
        co_return false;
      }
      if (a.status == 200) {
        fail(r, "200 without RegistryCode=: devices treat it as a refusal and restart the handshake forever");
      } else {
        fail(r, status_text(a.status) + ", expected 200 RegistryCode= or 406");
      }
      break;
    }
    skipped_ = "not run: registration failed";
    co_return false;
  }

  // A registration refusal in words: 406 is the manual's "waiting for approval" (4.4); 401 and 403
  // are how other servers (and our allow-list) keep a device out.
  static std::string refusal_meaning(int status) {
    switch (status) {
      case 406: return "HTTP 406, not approved (waiting for an operator)";
      case 403: return "HTTP 403, refused (allow-list or rejected)";
      default: return status_text(status) + ", refused (not approved?)";
    }
  }

  // The key exchange runs before registration: a server that keeps the device out answers it
  // with the same refusal, which says nothing about encryption.
  void unlearnt_before_registration() {
    CheckResult& r = begin("exchange");
    if (r.verdict != Verdict::not_supported || r.exchanges.empty() || !refused(r.exchanges.back().status)) return;
    blocked(r, status_text(r.exchanges.back().status) +
                   ": the server keeps this device out, so encryption support could not be tested");
  }

  asio::awaitable<void> check_registered_init() {
    CheckResult& r = begin("init-registered");
    const p::OutgoingRequest request = p::format_init_request(sn_);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200");
    const p::InitAnswer init = p::parse_init_answer(a.body);
    if (!init.registered || init.registry_code.empty()) {
      co_return fail(r, "a registered device is not given registry=ok and its RegistryCode (4.1: \"will and must "
                        "return the registry and RegistryCode\")");
    }
    if (auto s = init.config.get("SessionID")) init_session_ = std::string(*s);
    if (init.registry_code != registry_code_) {
      registry_code_ = init.registry_code;
      co_return pass(r, "a new RegistryCode (the device uses the latest)");
    }
    pass(r);
  }

  asio::awaitable<bool> push_config() {
    CheckResult& r = begin("push");
    const p::OutgoingRequest request = p::format_push_config_request(sn_);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status != 200) {
      fail(r, a.status == 0 ? "no answer: " + a.error : status_text(a.status) + ", expected 200");
      skipped_ = "not run: the configuration download (push) failed";
      co_return false;
    }
    const p::Record config = p::parse_config_answer(a.body);
    if (config.empty()) {
      fail(r, "200 without Key=Value lines");
    } else {
      std::string problems;
      for (std::string_view key : {"ErrorDelay", "RequestDelay", "TransInterval", "Realtime", "TimeoutSec"}) {
        if (config.has(key) && !config.get_int(key)) problems += std::string(problems.empty() ? "" : ", ") + std::string(key);
      }
      std::string missing;
      for (std::string_view key : {"ServerVersion", "ServerName", "ErrorDelay", "RequestDelay", "TransTimes",
                                   "TransInterval", "TransTables", "Realtime", "TimeoutSec"}) {
        if (!config.has(key)) missing += " " + std::string(key);
      }
      auto session = config.get("SessionID");
      if (session) session_id_ = std::string(*session);
      else session_id_ = init_session_;
      if (!problems.empty()) {
        fail(r, "not an integer: " + problems);
      } else if (session_id_.empty()) {
        fail(r, "no SessionID: the device cannot compute its token (4.5)");
      } else {
        std::string remark = session ? std::string() : "SessionID taken from init";
        if (!missing.empty()) remark += (remark.empty() ? "" : "; ") + std::string("device defaults for:") + missing;
        pass(r, remark);
      }
      push_options_ = p::push_options_requested(config);
    }
    if (!session_id_.empty()) cookie_ = "token=" + p::compute_token(registry_code_, sn_, session_id_);
    co_return true;
  }

  // ---- after the handshake -----------------------------------------------------------------------------

  asio::awaitable<void> session() {
    {
      CheckResult& r = begin("token");
      if (cookie_.empty()) {
        not_supported(r, "no SessionID, so no token to present");
      } else {
        const p::OutgoingRequest ping = p::format_ping(sn_);
        HttpAnswer a = co_await exchange(r, ping);
        note(r, "with the token cookie");
        if (a.status == 0) fail(r, "no answer: " + a.error);
        else if (refused(a.status)) fail(r, "the token cookie was refused (" + status_text(a.status) + ")");
        else if (a.status != 200) fail(r, status_text(a.status) + ", expected 200");
        else pass(r);
      }
    }
    {
      const p::OutgoingRequest request = p::format_options_upload(sn_, model_.options());
      co_await expect_ok(begin("options"), request);
      if (push_options_) note(begin("options"), "asked by PushOptionsFlag=1");
    }
    co_await device_authorize();
    {
      const p::OutgoingRequest ping = p::format_ping(sn_);
      co_await expect_ok(begin("ping"), ping);
    }
    co_await poll_commands();
    co_await rtlog();
    {
      const std::vector<p::Record> state{model_.rtstate_record(local_now())};
      const p::OutgoingRequest request = p::format_rtstate_upload(sn_, state);
      co_await expect_ok(begin("rtstate"), request);
    }
    co_await stray_result();
    co_await table_uploads();
    co_await stray_querydata();
    co_await file_download();
    co_await file_range();
    co_await rtdata_time();
    co_await remote_auth();
  }

  p::CivilTime local_now() const {
    auto t = p::civil_from_unix(unix_now());
    return t ? *t : p::CivilTime{};
  }

  asio::awaitable<void> device_authorize() {
    CheckResult& r = begin("device-authorize");
    const std::vector<p::Record> records{p::Record{{"SN", sn_ + "S1"},
                                                   {"Online", "1"},
                                                   {"IsAuthorize", "0"},
                                                   {"AuthorizeInfo", ""},
                                                   {"RegisterInfo", ""}}};
    const p::OutgoingRequest request = p::format_device_authorize_upload(sn_, records);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (declined(a.status)) co_return not_supported(r, status_text(a.status) + ": master controllers not supported");
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200");
    pass(r);
  }

  // getrequest, then as long as commands come: run them as the device would and report.
  asio::awaitable<void> poll_commands() {
    CheckResult& g = begin("getrequest");
    const p::OutgoingRequest poll_request = p::format_getrequest(sn_);
    HttpAnswer a = co_await exchange(g, poll_request);
    std::vector<p::Command> commands;
    if (!judge_getrequest(g, a, commands)) co_return;
    CheckResult& c = begin("commands");
    if (commands.empty()) {
      co_return not_supported(c, "the server sent no command (queue one for " + sn_ + " to test command execution)");
    }
    std::size_t executed = 0;
    std::string verbs;
    for (int poll = 1; !commands.empty(); ++poll) {
      std::vector<p::CommandResult> results;
      for (const auto& command : commands) {
        auto result = co_await execute(c, command);
        if (!result) co_return;
        results.push_back(*result);
        ++executed;
        const std::string verb(p::verb_name(command.verb()));
        if (verbs.find(verb) == std::string::npos) verbs += (verbs.empty() ? "" : ", ") + verb;
      }
      p::OutgoingRequest report = p::format_devicecmd_results(sn_, {});
      report.body = p::format_command_results(results);
      HttpAnswer posted = co_await exchange(c, report);
      note(c, std::to_string(results.size()) + " result(s)");
      if (posted.status != 200) {
        co_return fail(c, posted.status == 0 ? "devicecmd: no answer: " + posted.error
                                             : "devicecmd: " + status_text(posted.status) + ", expected 200");
      }
      const bool uploaded = co_await upload_command_events(c);
      if (!uploaded) co_return;
      if (poll >= options_.max_polls) break;
      HttpAnswer next = co_await exchange(c, poll_request);
      commands.clear();
      if (next.status != 200) {
        co_return fail(c, next.status == 0 ? "getrequest: no answer: " + next.error
                                           : "getrequest: " + status_text(next.status) + ", expected 200");
      }
      if (p::is_empty_command_queue(next.body)) break;
      auto more = p::parse_commands(next.body);
      if (!more) co_return fail(c, "getrequest: commands that do not parse: " + more.error().to_string());
      commands = std::move(*more);
    }
    pass(c, std::to_string(executed) + " command(s) executed and reported: " + verbs);
  }

  bool judge_getrequest(CheckResult& g, const HttpAnswer& a, std::vector<p::Command>& commands) {
    if (a.status == 0) return fail(g, "no answer: " + a.error), false;
    if (a.status != 200) return fail(g, status_text(a.status) + ", expected 200"), false;
    if (p::is_empty_command_queue(a.body)) return pass(g, "no command queued"), true;
    auto parsed = p::parse_commands(a.body);
    if (!parsed) return fail(g, "neither OK nor commands that parse: " + parsed.error().to_string()), false;
    commands = std::move(*parsed);
    pass(g, std::to_string(commands.size()) + " command(s)");
    return true;
  }

  // One command: the model changes, its uploads go first (each must be accepted), then the result.
  asio::awaitable<std::optional<p::CommandResult>> execute(CheckResult& c, const p::Command& command) {
    ExecutionContext ctx;
    ctx.now = local_now();
    ctx.unix_now = unix_now();
    ctx.max_package_size = static_cast<std::size_t>(model_.option_int("MaxPackageSize", 2048000));
    ctx.account_controller_form = profile_->account_controller_form;
    Execution e = executor_commands_.execute(command, model_, ctx);
    for (const auto& upload : e.uploads) {
      HttpAnswer a = co_await exchange(c, upload);
      note(c, "C:" + command.id + " upload");
      if (a.status != 200) {
        fail(c, "the upload of C:" + command.id + " was " +
                    (a.status == 0 ? "not answered: " + a.error : "answered " + status_text(a.status)) +
                    ", expected 200");
        co_return std::nullopt;
      }
    }
    if (e.upgrade) e.result.return_code = co_await download(c, *e.upgrade);
    if (e.test_host) {
      if (auto address = parse_server_url(*e.test_host)) {
        HttpClient target(executor_, *address);
        auto answer = co_await target.send(p::format_ping(sn_), "", std::chrono::seconds(3));
        e.result.return_code = answer.status != 0 ? 0 : -1;
      } else {
        e.result.return_code = ret::bad_parameter;
      }
    }
    doors_changed_ = doors_changed_ || e.doors_changed;
    co_return e.result;
  }

  // UPGRADE as a device performs it (9.4.1): the Return says whether the file arrived intact.
  asio::awaitable<int> download(CheckResult& c, const p::Upgrade& upgrade) {
    const bool ranged = upgrade.method == 3;
    const auto request = ranged ? p::format_firmware_range_request(upgrade.url, 1, 0)
                                : p::format_firmware_file_request(sn_, upgrade.url);
    HttpAnswer a = co_await exchange(c, request);
    note(c, "UPGRADE download");
    if (a.status == 0) co_return -1;
    if (a.status == 404) co_return ret::no_such_file;
    if (a.status != 200) co_return ret::execution_error;
    co_return verify_download(upgrade, std::move(a.body));
  }

  // Events and door changes the commands caused, uploaded as the device would right after.
  asio::awaitable<bool> upload_command_events(CheckResult& c) {
    const auto& log = model_.events();
    std::vector<p::Record> batch;
    for (const auto& e : log)
      if (e.index > uploaded_index_) batch.push_back(DeviceModel::rtlog_record(e));
    if (!batch.empty()) {
      const p::OutgoingRequest request = p::format_rtlog_upload(sn_, batch);
      HttpAnswer a = co_await exchange(c, request);
      note(c, "events of the commands");
      if (a.status != 200) {
        fail(c, "rtlog of the commands' events: " + (a.status == 0 ? a.error : status_text(a.status)));
        co_return false;
      }
      uploaded_index_ = log.back().index;
    }
    if (doors_changed_) {
      doors_changed_ = false;
      const std::vector<p::Record> state{model_.rtstate_record(local_now())};
      const p::OutgoingRequest request = p::format_rtstate_upload(sn_, state);
      HttpAnswer a = co_await exchange(c, request);
      note(c, "door change of the commands");
      if (a.status != 200) {
        fail(c, "rtstate after the commands: " + (a.status == 0 ? a.error : status_text(a.status)));
        co_return false;
      }
    }
    co_return true;
  }

  // ---- 7: uploads ------------------------------------------------------------------------------------------

  std::vector<p::Record> new_events(int n) {
    std::vector<p::Record> records;
    for (int i = 0; i < n; ++i) {
      DeviceModel::Event e;
      e.time = local_now();
      e.pin = "9001";
      e.cardno = "12345678";
      e.door = 1;
      e.event = 0;
      e.inout = 0;
      e.verifytype = 4;
      records.push_back(DeviceModel::rtlog_record(model_.log(e)));
    }
    uploaded_index_ = model_.events().back().index;
    return records;
  }

  asio::awaitable<void> rtlog() {
    const p::OutgoingRequest one = p::format_rtlog_upload(sn_, new_events(1));
    co_await expect_ok(begin("rtlog-1"), one);
    note(begin("rtlog-1"), "1 record");
    const int n = std::max(2, options_.rtlog_batch);
    const p::OutgoingRequest batch = p::format_rtlog_upload(sn_, new_events(n));
    co_await expect_ok(begin("rtlog-n"), batch);
    note(begin("rtlog-n"), std::to_string(n) + " records");
    co_await expect_ok(begin("rtlog-resend"), batch);
    note(begin("rtlog-resend"), "the same " + std::to_string(n) + " records");
  }

  asio::awaitable<void> stray_result() {
    CheckResult& r = begin("devicecmd-unknown");
    const std::string id = std::to_string(900000000 + random_() % 99999999);
    const std::vector<p::CommandResult> results{p::make_command_result(id, 0, "DATA")};
    p::OutgoingRequest request = p::format_devicecmd_results(sn_, {});
    request.body = p::format_command_results(results);
    HttpAnswer a = co_await exchange(r, request);
    note(r, "ID never sent");
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (a.status >= 500) co_return fail(r, status_text(a.status) + ": a stray result must not be a server error");
    if (a.status >= 300 && a.status < 400) co_return fail(r, status_text(a.status) + ", expected 200 or 4xx");
    const bool alive = co_await still_answering(r);
    if (!alive) co_return;
    pass(r, status_text(a.status));
  }

  asio::awaitable<void> table_uploads() {
    const std::string pin = "9001";
    const std::string photo_size = std::to_string(kPhoto.size());
    const std::map<std::string_view, std::vector<p::Record>> records{
        {"user",
         {p::Record{{"uid", pin}, {"cardno", "12345678"}, {"pin", pin}, {"password", ""}, {"group", "1"},
                    {"starttime", "0"}, {"endtime", "0"}, {"name", "Conformance"}, {"privilege", "0"},
                    {"disable", "0"}, {"verify", "0"}}}},
        {"identitycard",
         {p::Record{{"pin", pin}, {"SN_Num", "26121292460088826975"}, {"IDNum", "210102199212180000"}, {"DNNum", ""},
                    {"Name", "Conformance"}, {"Gender", "1"}, {"Nation", "1"}, {"Birthday", "19911218"},
                    {"ValidInfo", "2013091220230912"}, {"Address", "1 Test Street"}, {"AdditionalInfo", ""},
                    {"Issuer", "Test Bureau"}, {"Photo", kPhoto}, {"PhotoJPG", kPhoto}}}},
        {"templatev10",
         {p::Record{{"size", std::to_string(kTemplate.size())}, {"uid", pin}, {"pin", pin}, {"fingerid", "6"},
                    {"valid", "1"}, {"template", kTemplate}},
          p::Record{{"size", std::to_string(kTemplate.size())}, {"uid", pin}, {"pin", pin}, {"fingerid", "7"},
                    {"valid", "1"}, {"template", kTemplate}}}},
        {"biophoto",
         {p::Record{{"pin", pin}, {"filename", "9_" + pin + ".jpg"}, {"type", "9"}, {"size", photo_size},
                    {"content", kPhoto}}}},
        {"ATTPHOTO",
         {p::Record{{"pin", "20260101120000-" + pin + ".jpg"}, {"sn", sn_}, {"size", photo_size}, {"photo", kPhoto}}}},
        {"userpic", {p::Record{{"pin", pin}, {"filename", pin + ".jpg"}, {"size", photo_size}, {"content", kPhoto}}}},
        {"biodata",
         {p::Record{{"pin", pin}, {"no", "0"}, {"index", "0"}, {"valid", "1"}, {"duress", "0"}, {"type", "9"},
                    {"majorver", "5"}, {"minorver", "0"}, {"format", "0"}, {"tmp", kTemplate}}}},
        {"errorlog",
         {p::Record{{"errcode", "D01E0001"}, {"errmsg", ""}, {"dataorigin", "cmd"}, {"cmdid", "123"},
                    {"additional", ""}}}},
    };
    const std::array<TableUpload, 8> uploads{{
        {"user", "user", {"user"}, false},
        {"identitycard", "identitycard", {"identitycard"}, true},
        {"templatev10", "templatev10", {"templatev10"}, false},
        {"biophoto", "biophoto", {"biophoto"}, true},
        {"attphoto", "ATTPHOTO", {"ATTPHOTO", "biophoto"}, true},
        {"userpic", "userpic", {"userpic"}, true},
        {"biodata", "biodata", {"biodata", "userpic"}, true},
        {"errorlog", "errorlog", {"errorlog"}, true},
    }};
    for (const auto& u : uploads) {
      const auto& rows = records.at(u.table);
      CheckResult& r = begin(u.id);
      const p::OutgoingRequest request = p::format_tabledata_upload(sn_, u.table, rows);
      HttpAnswer a = co_await exchange(r, request);
      note(r, std::to_string(rows.size()) + " record(s)");
      judge_table_ack(r, a, u, static_cast<std::int64_t>(rows.size()));
    }
  }

  static void judge_table_ack(CheckResult& r, const HttpAnswer& a, const TableUpload& u, std::int64_t sent) {
    if (a.status == 0) return fail(r, "no answer: " + a.error);
    if (u.optional && declined(a.status)) return not_supported(r, status_text(a.status) + ": upload not supported");
    const std::string expected = std::string(u.ack_names.front()) + "=" + std::to_string(sent);
    if (a.status != 200) return fail(r, status_text(a.status) + ", expected 200 " + expected);
    auto ack = p::parse_table_ack(a.body);
    if (!ack) return fail(r, "200 but the body is not " + expected);
    auto name = std::find_if(u.ack_names.begin(), u.ack_names.end(),
                             [&](std::string_view n) { return p::text::iequals(n, ack->table); });
    if (name == u.ack_names.end()) return fail(r, "acknowledged as " + ack->table + "=, expected " + expected);
    if (ack->count != sent) {
      return fail(r, "acknowledged " + (ack->count ? std::to_string(*ack->count) : std::string("?")) +
                         " record(s), " + std::to_string(sent) + " sent");
    }
    pass(r, name == u.ack_names.begin() ? std::string() : "answered " + ack->table + "= as the section's note says");
  }

  // ---- 9, 10 ---------------------------------------------------------------------------------------------------

  asio::awaitable<void> stray_querydata() {
    CheckResult& r = begin("querydata");
    const std::string cmdid = std::to_string(900000000 + random_() % 99999999);
    const std::vector<p::Record> rows{p::Record{{"uid", "9001"}, {"cardno", "12345678"}, {"pin", "9001"},
                                                {"password", ""}, {"group", "1"}, {"starttime", "0"},
                                                {"endtime", "0"}, {"name", "Conformance"}, {"privilege", "0"},
                                                {"disable", "0"}, {"verify", "0"}}};
    const p::OutgoingRequest request = p::format_querydata_tabledata(sn_, cmdid, "user", rows);
    HttpAnswer a = co_await exchange(r, request);
    note(r, "cmdid never sent");
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (a.status >= 500) co_return fail(r, status_text(a.status) + ": a stray upload must not be a server error");
    if (a.status == 200) {
      auto ack = p::parse_table_ack(a.body);
      if (!ack || !p::text::iequals(ack->table, "user") || ack->count != 1) {
        co_return fail(r, "200 but the body is not user=1 (9.1.4)");
      }
    } else if (a.status < 400) {
      co_return fail(r, status_text(a.status) + ", expected 200 user=1 or 4xx");
    }
    const bool alive = co_await still_answering(r);
    if (!alive) co_return;
    pass(r, a.status == 200 ? std::string() : "refused with " + status_text(a.status));
  }

  std::string file_target() const {
    const std::string& f = options_.file;
    if (f.find("://") != std::string::npos || (!f.empty() && f.front() == '/')) return f;
    return "/" + f;
  }

  asio::awaitable<void> file_download() {
    CheckResult& r = begin("file");
    if (options_.file.empty()) co_return not_supported(r, "needs a file the server publishes: --file NAME");
    const p::OutgoingRequest request = p::format_firmware_file_request(sn_, file_target());
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200 with the file");
    if (a.body.empty()) co_return fail(r, "200 with an empty body");
    pass(r, std::to_string(a.body.size()) + " bytes");
  }

  asio::awaitable<void> file_range() {
    CheckResult& r = begin("file-range");
    if (options_.file.empty()) co_return not_supported(r, "needs a file the server publishes: --file NAME");
    const p::OutgoingRequest whole_request = p::format_firmware_range_request(file_target(), 1, 0);
    HttpAnswer whole = co_await exchange(r, whole_request);
    note(r, "whole file");
    if (whole.status != 200 || whole.body.empty()) {
      co_return fail(r, whole.status == 0 ? "no answer: " + whole.error
                                          : status_text(whole.status) + ", expected 200 with the file");
    }
    const p::OutgoingRequest part_request = p::format_firmware_range_request(file_target(), 0, 15);
    HttpAnswer part = co_await exchange(r, part_request);
    if (part.status == 0) co_return fail(r, "no answer: " + part.error);
    if (part.status == 200) co_return not_supported(r, "the server ignores Range: method 3 is not supported");
    if (part.status != 206) co_return fail(r, status_text(part.status) + ", expected 206");
    if (!part.header("Content-Range")) co_return fail(r, "206 without Content-Range");
    if (part.body != whole.body.substr(0, 16)) co_return fail(r, "206 but not the file's first 16 bytes");
    pass(r);
  }

  asio::awaitable<void> rtdata_time() {
    CheckResult& r = begin("rtdata-time");
    const p::OutgoingRequest request = p::format_rtdata_time_request(sn_);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (declined(a.status)) co_return not_supported(r, status_text(a.status) + ": time requests not supported");
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200 DateTime=..,ServerTZ=..");
    auto time = p::parse_time_answer(a.body);
    if (!time) co_return fail(r, "200 but not DateTime=<n>,ServerTZ=<tz>: " + time.error().to_string());
    if (!time->server_tz.empty() && !p::parse_tz_offset(time->server_tz)) {
      co_return fail(r, "ServerTZ is not +hhmm: " + time->server_tz);
    }
    pass(r);
  }

  asio::awaitable<void> remote_auth() {
    CheckResult& r = begin("remote-auth");
    const p::Record event{{"time", p::format_datetime(local_now())}, {"pin", "9001"}, {"cardno", "12345678"},
                          {"eventaddr", "1"}, {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
    const p::OutgoingRequest request = p::format_remote_auth_request(sn_, event);
    HttpAnswer a = co_await exchange(r, request);
    if (a.status == 0) co_return fail(r, "no answer: " + a.error);
    if (declined(a.status)) co_return not_supported(r, status_text(a.status) + ": remote identification not supported");
    if (a.status != 200) co_return fail(r, status_text(a.status) + ", expected 200 AUTH=..");
    auto answer = p::parse_remote_auth_answer(a.body);
    if (!answer) co_return fail(r, "200 but no AUTH=SUCCESS|FAILED|TIMEOUT: " + answer.error().to_string());
    pass(r, "AUTH=" + std::string(p::auth_result_name(answer->auth)));
  }

  asio::any_io_executor executor_;
  ConformanceOptions options_;
  std::mt19937 random_;
  const Profile* profile_;
  std::string sn_;
  DeviceModel model_;
  CommandExecutor executor_commands_;
  HttpClient http_;
  ConformanceReport report_;
  std::map<std::string, CheckResult> results_;
  std::string skipped_;  // why checks the run did not reach have no verdict of their own

  std::string registry_code_;
  std::string init_session_;
  std::string session_id_;
  std::string cookie_;
  bool push_options_ = false;
  bool doors_changed_ = false;
  std::int64_t uploaded_index_ = 0;
};

ConformanceReport run_conformance(ConformanceOptions options) {
  asio::io_context io;
  ConformanceRunner runner(io.get_executor(), std::move(options));
  auto future = asio::co_spawn(io, runner.run(), asio::use_future);
  io.run();
  return future.get();
}

}  // namespace zkpush::emulator
