#include "emulator/stats.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>

namespace zkpush::emulator {

std::string_view exchange_name(Exchange e) noexcept {
  switch (e) {
    case Exchange::init: return "init";
    case Exchange::registry: return "registry";
    case Exchange::push: return "push";
    case Exchange::options: return "options";
    case Exchange::getrequest: return "getrequest";
    case Exchange::devicecmd: return "devicecmd";
    case Exchange::rtlog: return "rtlog";
    case Exchange::rtstate: return "rtstate";
    case Exchange::querydata: return "querydata";
    case Exchange::ping: return "ping";
    case Exchange::tabledata: return "tabledata";
    case Exchange::file: return "file";
    case Exchange::auth: return "auth";
    case Exchange::exchange: return "exchange";
    case Exchange::other:
    case Exchange::count_: break;
  }
  return "other";
}

namespace {

bool contains(std::string_view text, std::string_view word) {
  return std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

// No answer: the transport's message, reduced to what a user acts on.
std::string transport_reason(std::string_view error) {
  if (contains(error, "refused")) return "connection refused";
  if (contains(error, "timed out") || contains(error, "timeout")) return "timeout";
  if (contains(error, "resolve")) return "host not found";
  if (contains(error, "end of stream") || contains(error, "reset") || contains(error, "eof") ||
      contains(error, "broken pipe")) {
    return "connection closed";
  }
  return error.empty() ? std::string("no answer") : std::string(error);
}

}  // namespace

std::string error_reason(int status, std::string_view body, std::string_view error) {
  switch (status) {
    case 0: return transport_reason(error);
    // Our server says which of its refusals a 401 is; another server's 401 is "unauthorised".
    case 401:
      if (contains(body, "not approved")) return "401 not approved";
      if (contains(body, "token")) return "401 bad token";
      if (contains(body, "unknown device")) return "401 unknown device";
      return "401 unauthorised";
    case 403:
      if (contains(body, "encryption required")) return "403 encryption required";
      if (contains(body, "no encryption")) return "403 no encryption (version)";
      return "403 refused (allow-list)";
    case 406: return "406 not approved";  // PUSH 4.4: registration held for an operator, or refused
    default: return "HTTP " + std::to_string(status);
  }
}

int LatencyHistogram::bucket_of(std::uint64_t us) noexcept {
  if (us < 4) return static_cast<int>(us);
  const int log2 = static_cast<int>(std::bit_width(us)) - 1;  // >= 2
  const int sub = static_cast<int>((us >> (log2 - 2)) & 3u);       // next two bits
  return std::min(kBuckets - 1, log2 * 4 + sub - 4);
}

std::uint64_t LatencyHistogram::bucket_upper(int bucket) noexcept {
  if (bucket < 4) return static_cast<std::uint64_t>(bucket);
  const int log2 = (bucket + 4) / 4;
  const int sub = (bucket + 4) % 4;
  return ((4u + static_cast<std::uint64_t>(sub) + 1) << (log2 - 2)) - 1;
}

void LatencyHistogram::record(std::chrono::microseconds latency) noexcept {
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  buckets_[static_cast<std::size_t>(bucket_of(us))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  auto seen = max_.load(std::memory_order_relaxed);
  while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
  }
}

std::uint64_t LatencyHistogram::quantile_us(double q) const noexcept {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<std::size_t>(b)].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(bucket_upper(b), max_us());
  }
  return max_us();
}

void Stats::record(Exchange e, std::chrono::microseconds latency, bool ok) noexcept {
  requests.fetch_add(1, std::memory_order_relaxed);
  if (!ok) {
    errors.fetch_add(1, std::memory_order_relaxed);
    failures[static_cast<std::size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  }
  of(e).record(latency);
}

void Stats::record_reason(Exchange e, std::string_view reason) {
  std::lock_guard lock(reasons_mutex_);
  ++reasons_[{e, std::string(reason)}];
}

void Stats::record_error(Exchange e, std::string_view reason) {
  errors.fetch_add(1, std::memory_order_relaxed);
  failures[static_cast<std::size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  record_reason(e, reason);
}

std::vector<std::pair<std::string, std::uint64_t>> Stats::error_reasons(Exchange e) const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  {
    std::lock_guard lock(reasons_mutex_);
    for (const auto& [key, count] : reasons_) {
      if (key.first == e) out.emplace_back(key.second, count);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

nlohmann::ordered_json Stats::to_json(double elapsed_seconds) const {
  auto ms = [](std::uint64_t us) { return std::round(static_cast<double>(us) / 10.0) / 100.0; };
  nlohmann::ordered_json j;
  j["elapsed_s"] = std::round(elapsed_seconds * 10) / 10;
  j["devices_online"] = devices_online.load();
  j["devices_registered"] = devices_registered.load();
  j["requests"] = requests.load();
  j["errors"] = errors.load();
  j["refused"] = refused.load();
  j["requests_per_s"] = elapsed_seconds > 0 ? std::round(static_cast<double>(requests.load()) / elapsed_seconds) : 0.0;
  j["events_generated"] = events_generated.load();
  j["events_acked"] = events_acked.load();
  j["events_per_s"] =
      elapsed_seconds > 0 ? std::round(static_cast<double>(events_acked.load()) / elapsed_seconds) : 0.0;
  j["commands_executed"] = commands_executed.load();
  if (encrypted_sessions.load() + encryption_mismatches.load() + encryption_refused.load() > 0) {
    j["encryption"] = {{"sessions", encrypted_sessions.load()},
                       {"mismatches", encryption_mismatches.load()},
                       {"refused", encryption_refused.load()}};
  }
  auto& endpoints = j["endpoints"] = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < latency.size(); ++i) {
    const auto& h = latency[i];
    if (h.count() == 0) continue;
    auto& endpoint = endpoints[std::string(exchange_name(static_cast<Exchange>(i)))] = {
        {"count", h.count()},         {"errors", failures[i].load()},     {"p50_ms", ms(h.quantile_us(0.5))},
        {"p99_ms", ms(h.quantile_us(0.99))}, {"max_ms", ms(h.max_us())}};
    const auto reasons = error_reasons(static_cast<Exchange>(i));
    if (reasons.empty()) continue;
    auto& by_reason = endpoint["error_reasons"] = nlohmann::ordered_json::object();
    for (const auto& [reason, count] : reasons) by_reason[reason] = count;
  }

  return j;
}

}  // namespace zkpush::emulator
