// Rendering of a conformance report: the text matrix (grouped by manual section) and JSON.
#include <algorithm>
#include <cstdio>

#include "emulator/conformance.hpp"

namespace zkpush::emulator {

namespace {

void append_exchanges(std::string& out, const CheckResult& r) {
  for (const auto& e : r.exchanges) {
    out += "             > " + e.request + "\n";
    out += "             < " + (e.status == 0 ? std::string("no answer") : "HTTP " + std::to_string(e.status));
    if (!e.excerpt.empty()) out += "  \"" + e.excerpt + "\"";
    out += "\n";
  }
}

}  // namespace

std::string format_report(const ConformanceReport& report, bool verbose) {
  std::string out = "zkpush conformance: server " + report.server + ", SN " + report.sn + ", profile " +
                    report.profile + "\n";
  if (!report.reachable) {
    out += "server unreachable: " + report.unreachable_reason + "\n";
    return out;
  }
  // The verdict column is as wide as the widest verdict shown: BLOCKED only widens a blocked run's.
  std::size_t width = 4;
  for (const auto& r : report.results) width = std::max(width, verdict_name(r.verdict).size());
  std::string_view section;
  for (const auto& r : report.results) {
    if (r.check == nullptr) continue;
    if (r.check->section != section) {
      section = r.check->section;
      char head[160];
      std::snprintf(head, sizeof head, "\n%-6s %.*s\n", std::string(section).c_str(),
                    static_cast<int>(r.check->section_title.size()), r.check->section_title.data());
      out += head;
    }
    std::string verdict(verdict_name(r.verdict));
    std::string id(r.check->id);
    verdict.resize(width, ' ');
    if (!r.reason.empty()) id.resize(std::max<std::size_t>(id.size(), 18), ' ');
    out.append("  ").append(verdict).append("  ").append(id);
    if (!r.reason.empty()) out.append(" ").append(r.reason);
    out += "\n";
    if (r.verdict == Verdict::fail || verbose) {
      out += "             expected: " + std::string(r.check->expects) + "\n";
      append_exchanges(out, r);
    }
  }
  char summary[200];
  std::snprintf(summary, sizeof summary, "\n%d passed, %d failed, %d not supported", report.count(Verdict::pass),
                report.count(Verdict::fail), report.count(Verdict::not_supported));
  out += summary;
  if (report.blocked()) out += ", " + std::to_string(report.count(Verdict::blocked)) + " blocked";
  out += " (" + std::to_string(report.results.size()) + " checks)\n";
  if (report.blocked()) {
    out += "\nBLOCKED: " + report.blocked_reason +
           ". The server kept the device out, so the checks after registration could not be made.\n";
  }
  return out;
}

nlohmann::ordered_json report_json(const ConformanceReport& report) {
  nlohmann::ordered_json j;
  j["server"] = report.server;
  j["sn"] = report.sn;
  j["profile"] = report.profile;
  j["reachable"] = report.reachable;
  if (!report.reachable) j["unreachable_reason"] = report.unreachable_reason;
  if (report.blocked()) j["blocked_reason"] = report.blocked_reason;
  auto checks = nlohmann::ordered_json::array();
  for (const auto& r : report.results) {
    if (r.check == nullptr) continue;
    nlohmann::ordered_json c;
    c["section"] = r.check->section;
    c["title"] = r.check->section_title;
    c["check"] = r.check->id;
    c["verdict"] = verdict_name(r.verdict);
    c["reason"] = r.reason;
    c["expects"] = r.check->expects;
    auto exchanges = nlohmann::ordered_json::array();
    for (const auto& e : r.exchanges) {
      exchanges.push_back({{"request", e.request}, {"status", e.status}, {"excerpt", e.excerpt}});
    }
    c["exchanges"] = std::move(exchanges);
    checks.push_back(std::move(c));
  }
  j["checks"] = std::move(checks);
  j["passed"] = report.count(Verdict::pass);
  j["failed"] = report.count(Verdict::fail);
  j["not_supported"] = report.count(Verdict::not_supported);
  j["blocked"] = report.count(Verdict::blocked);
  j["exit_status"] = report.exit_status();
  return j;
}

}  // namespace zkpush::emulator
