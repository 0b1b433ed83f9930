// `zkpush conformance`: every device-initiated flow of the manual (sections 4-10) played against a
// PUSH server, ours or anyone's, with a verdict per check.
//
// Requests are built and answers read with the protocol core (device_requests.hpp, responses.hpp),
// the same code the emulator and our server use, so "conforming" means "a device built from the
// manual works with this server". Checks accept what the manual leaves open (header case, LF or
// CR LF, extra keys, keep-alive or close, the spellings listed in the catalogue's ambiguities) and
// fail only on what it states.
//
// Verdicts:
//   pass           the server answered as the manual says
//   fail           it did not: the exchange (request line, status, body excerpt) and the reason
//   not_supported  the server legitimately declined (an optional endpoint answered 404/501) or the
//                  check needs an input that was not given (--file); the reason says which
//   blocked        the server kept the device out (init or registration answered 401/403/406, not
//                  approved after --wait-approval): the check could not be made; the run exits 3
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "emulator/http_client.hpp"
#include "emulator/profiles.hpp"

namespace zkpush::emulator {

enum class Verdict { pass, fail, not_supported, blocked };
std::string_view verdict_name(Verdict v) noexcept;  // "PASS", "FAIL", "N/A", "BLOCKED"

// One entry of the catalogue of checks: where in the manual, what is sent, what must come back.
struct CheckInfo {
  std::string_view id;             // "registry", "rtlog-n", ...
  std::string_view section;        // "4.4"
  std::string_view section_title;  // "Registration"
  std::string_view sends;
  std::string_view expects;
};
// In manual order; reports list their results in this order.
std::span<const CheckInfo> conformance_checks() noexcept;
const CheckInfo* find_check(std::string_view id) noexcept;

struct ExchangeRecord {
  std::string request;  // "POST /iclock/cdata?SN=..&table=rtlog (1 record)"
  int status = 0;       // 0 = no answer
  std::string excerpt;  // the first ~200 bytes of the answer, escaped; the transport error when none
};

struct CheckResult {
  const CheckInfo* check = nullptr;
  Verdict verdict = Verdict::not_supported;
  std::string reason;                     // why it failed or was declined; a remark on a pass
  std::vector<ExchangeRecord> exchanges;  // in order; the deciding one is last
};

struct ConformanceOptions {
  ServerAddress server;
  std::string sn;                  // empty: a fresh "CFT" serial number per run
  const Profile* profile = nullptr;  // nullptr: the first profile
  std::string ip = "192.168.1.201";  // what the device reports as its address
  // How long to keep retrying a registration answered 406 (pending approval); 0 = once.
  std::chrono::seconds wait_approval{0};
  std::chrono::milliseconds approval_retry{std::chrono::seconds(3)};
  // A file the server publishes, as an UPGRADE command would name it (`/files/emfw.cfg` or
  // `http://host:port/files/emfw.cfg`); empty = the download checks are not supported.
  std::string file;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  int rtlog_batch = 5;  // records of the "N records" rtlog upload
  int max_polls = 5;    // getrequest polls while the server keeps sending commands
};

struct ConformanceReport {
  std::string server;  // host:port
  std::string sn;
  std::string profile;
  bool reachable = false;
  std::string unreachable_reason;
  // Why the device could not get in, when the server kept it out (init refused, registration
  // refused or not approved): most checks are then blocked. Empty otherwise.
  std::string blocked_reason;
  std::vector<CheckResult> results;  // every check of the catalogue, in its order

  bool blocked() const noexcept { return !blocked_reason.empty(); }
  int count(Verdict v) const noexcept;
  const CheckResult* find(std::string_view id) const noexcept;
  // 0 no failure, 1 at least one, 2 the server could not be reached at all, 3 the server kept the
  // device out (so almost nothing was tested) and no check failed.
  int exit_status() const noexcept;
};

// Runs every check in order on one connection (reconnecting when the server closes it), on a
// private io_context; blocks until done.
ConformanceReport run_conformance(ConformanceOptions options);

// The matrix grouped by manual section, exchanges under each FAIL (under every check: verbose).
std::string format_report(const ConformanceReport& report, bool verbose = false);
nlohmann::ordered_json report_json(const ConformanceReport& report);

}  // namespace zkpush::emulator
