// The catalogue of conformance checks: one entry per device-initiated flow the manual describes,
// with what it sends and what a conforming server answers. Expectations quote the manual where it
// is explicit and the catalogue's decisions (shared/spec README, ambiguities) where it is not.
#include <array>

#include "emulator/conformance.hpp"

namespace zkpush::emulator {

namespace {

constexpr std::array<CheckInfo, 31> kChecks{{
    {"init", "4.1", "Initialize information interaction", "GET /iclock/cdata?SN=<sn>&pushver=3.1.2&options=all",
     "200; body OK (not registered) or registry=ok, RegistryCode=<up to 32 bytes> and configuration lines"},
    {"init-date", "4.1", "Initialize information interaction", "the init request above",
     "a Date header in GMT (\"${Required}\": the device sets its clock from it)"},
    {"init-unknown", "4.1", "Initialize information interaction",
     "init for a serial number never used before",
     "200 OK without registry/RegistryCode (\"otherwise, the software will not return the registry and "
     "RegistryCode\"); 401/403/406 = the server refuses unknown devices (N/A)"},
    {"init-registered", "4.1", "Initialize information interaction", "init again once registered",
     "200 registry=ok and RegistryCode (\"the software will and must return the registry and RegistryCode\")"},
    {"exchange", "4.2", "Exchange public keys", "POST /iclock/exchange?SN=..&type=publickey, body PublicKey=..",
     "200 PublicKey=<key>; 4xx/501 = communication encryption not supported (optional, Appendix 16: N/A); "
     "blocked when the server keeps the device out"},
    {"registry", "4.4", "Registration", "POST /iclock/registry?SN=.. with the profile's registration options",
     "200 RegistryCode=<up to 32 bytes>; 406 = refused or waiting for approval (retried for --wait-approval, "
     "then BLOCKED: the run cannot test the rest); a bare OK is a failure (devices restart the handshake forever)"},
    {"push", "4.5", "Download configuration parameters", "POST /iclock/push?SN=.. (empty body)",
     "200 Key=Value lines with SessionID (or one from init); ErrorDelay, RequestDelay, TransInterval, Realtime, "
     "TimeoutSec integers when present"},
    {"token", "4.5", "Download configuration parameters",
     "GET /iclock/ping with Cookie: token=md5(RegistryCode+SN+SessionID)", "200: the token is accepted"},
    {"options", "4.6", "Upload device parameters", "POST /iclock/cdata?SN=..&table=options, body k=v,k=v",
     "200 OK"},
    {"device-authorize", "5", "Authorization",
     "POST /iclock/cdata?SN=..&type=registry&table=tabledata&tablename=DeviceAuthorize&count=1",
     "200 (body unspecified); 404/501 = master controllers not supported (N/A)"},
    {"ping", "6", "Heartbeat", "GET /iclock/ping?SN=..", "200 OK"},
    {"rtlog-1", "7.2", "Upload real-time events", "POST /iclock/cdata?SN=..&table=rtlog, 1 record", "200 OK"},
    {"rtlog-n", "7.2", "Upload real-time events", "rtlog, N records joined by LF", "200 OK"},
    {"rtlog-resend", "7.2", "Upload real-time events", "the same N records again (resume from breakpoint)",
     "200 OK again: a re-sent batch is accepted"},
    {"rtstate", "7.3", "Upload real-time status", "POST /iclock/cdata?SN=..&table=rtstate", "200 OK"},
    {"devicecmd-unknown", "7.4", "Upload returned result of the command",
     "POST /iclock/devicecmd?SN=.., ID=<never sent>&Return=0&CMD=DATA",
     "an answer, 200 or 4xx (the manual defines none for a stray result), and the server still answering"},
    {"user", "7.5", "Upload user information", "tabledata user, 1 record", "200 user=1"},
    {"identitycard", "7.6", "Upload the identity card information", "tabledata identitycard, 1 record",
     "200 identitycard=1; 404/501 = not supported (N/A)"},
    {"templatev10", "7.7", "Upload fingerprint template", "tabledata templatev10, 2 records", "200 templatev10=2"},
    {"biophoto", "7.8", "Upload comparison photo", "tabledata biophoto, 1 record",
     "200 biophoto=1; 404/501 = not supported (N/A)"},
    {"attphoto", "7.9", "Upload snapshot", "tabledata ATTPHOTO, 1 record (no prefix word)",
     "200 ATTPHOTO=1 (biophoto=1 per the section's note); 404/501 = not supported (N/A)"},
    {"userpic", "7.10", "Upload user photo", "tabledata userpic, 1 record",
     "200 userpic=1; 404/501 = not supported (N/A)"},
    {"biodata", "7.11", "Upload integrated template", "tabledata biodata, 1 record",
     "200 biodata=1 (userpic=1 per the section's note); 404/501 = not supported (N/A)"},
    {"errorlog", "7.12", "Upload error log", "tabledata errorlog, 1 record",
     "200 errorlog=1; 404/501 = not supported (N/A)"},
    {"getrequest", "8.1", "Download cache command", "GET /iclock/getrequest?SN=..",
     "200; OK or empty (no command), or C:<id>:<command> lines that parse"},
    {"commands", "8.1", "Download cache command",
     "the commands getrequest delivered, executed by the emulated device: their uploads, then devicecmd results",
     "200 to every upload and to the results (N/A when the server sent no command)"},
    {"querydata", "9.1.4", "Query", "POST /iclock/querydata?SN=..&type=tabledata&cmdid=<never sent>&tablename=user",
     "an answer, 200 user=1 or 4xx, and the server still answering"},
    {"file", "9.4.1", "Upgrade", "method 1/2: GET /iclock/file?SN=..&url=<--file>",
     "200 with the file (N/A without --file)"},
    {"file-range", "9.4.1", "Upgrade", "method 3: GET <--file> with Range: bytes=0-15",
     "206, Content-Range, the file's first 16 bytes; 200 = Range ignored (N/A); N/A without --file"},
    {"rtdata-time", "9.5.1", "Set options (time request)", "GET /iclock/rtdata?SN=..&type=time",
     "200 DateTime=<n>,ServerTZ=<+hhmm>; 404/501 = not supported (N/A)"},
    {"remote-auth", "10", "Remote identification", "POST /iclock/cdata?SN=..&AuthType=device, an event record",
     "200 AUTH=SUCCESS|FAILED|TIMEOUT; 404/501 = not supported (N/A)"},
}};

}  // namespace

std::string_view verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::fail: return "FAIL";
    case Verdict::not_supported: return "N/A";
    case Verdict::blocked: return "BLOCKED";
  }
  return "?";
}

std::span<const CheckInfo> conformance_checks() noexcept { return kChecks; }

const CheckInfo* find_check(std::string_view id) noexcept {
  for (const auto& c : kChecks)
    if (c.id == id) return &c;
  return nullptr;
}

int ConformanceReport::count(Verdict v) const noexcept {
  int n = 0;
  for (const auto& r : results) n += r.verdict == v ? 1 : 0;
  return n;
}

const CheckResult* ConformanceReport::find(std::string_view id) const noexcept {
  for (const auto& r : results)
    if (r.check != nullptr && r.check->id == id) return &r;
  return nullptr;
}

int ConformanceReport::exit_status() const noexcept {
  if (!reachable) return 2;
  if (count(Verdict::fail) > 0) return 1;
  return blocked() ? 3 : 0;
}

}  // namespace zkpush::emulator
