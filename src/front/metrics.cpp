#include "front/metrics.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <vector>

#include "protocol/fields.hpp"

namespace zkpush::front {

namespace p = protocol;
using p::Endpoint;

namespace {

std::size_t index_of(MetricSlot slot) noexcept { return static_cast<std::size_t>(slot); }

// Latency bucket bounds in nanoseconds, so that observe() compares integers.
constexpr auto kBoundsNs = []() {
  std::array<std::int64_t, kLatencyBuckets.size()> ns{};
  // NOLINTNEXTLINE(bugprone-incorrect-roundings): positive bounds; std::llround is not constexpr
  for (std::size_t i = 0; i < ns.size(); ++i) ns[i] = static_cast<std::int64_t>(kLatencyBuckets[i] * 1e9 + 0.5);
  return ns;
}();

// Shortest text that reads back the same value. `general` keeps small bounds readable
// (le="0.0005", where the shortest form would be "5e-04").
std::string number(double value, std::chars_format format = std::chars_format{}) {
  char buffer[64];
  auto [end, ec] = format == std::chars_format{} ? std::to_chars(buffer, buffer + sizeof buffer, value)
                                                 : std::to_chars(buffer, buffer + sizeof buffer, value, format);
  if (ec != std::errc{}) return "NaN";
  return std::string(buffer, end);
}

// One family at a time: # HELP and # TYPE, then its samples.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: already formatted, without braces ("endpoint=\"rtlog\",status=\"200\""), or "".
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  void sample(std::string_view name, std::string_view labels, std::int64_t value) {
    sample(name, labels, std::to_string(value));
  }
  void gauge(std::string_view name, std::string_view help, std::int64_t value) {
    family(name, "gauge", help);
    sample(name, "", value);
  }
  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, "", value);
  }
  // The samples of one histogram; `labels` is prefixed to le ("group=\"poll\"" or "").
  void histogram(std::string_view name, const std::string& labels, const Histogram::Snapshot& h) {
    const std::string prefix = labels.empty() ? std::string() : labels + ",";
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      sample(bucket, prefix + "le=\"" + number(kLatencyBuckets[i], std::chars_format::general) + "\"", cumulative);
    }
    sample(bucket, prefix + "le=\"+Inf\"", h.count);
    sample(std::string(name) + "_sum", labels, number(h.sum_seconds));
    sample(std::string(name) + "_count", labels, h.count);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::uint64_t load(const std::atomic<std::uint64_t>& a) noexcept { return a.load(std::memory_order_relaxed); }

}  // namespace

// ---- histogram -----------------------------------------------------------------------------------------

void Histogram::observe(std::chrono::nanoseconds elapsed) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(0, elapsed.count());
  const auto bucket = static_cast<std::size_t>(std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns) - kBoundsNs.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const noexcept {
  Snapshot s;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = load(buckets_[i]);
    s.count += s.buckets[i];
  }
  s.sum_seconds = static_cast<double>(load(sum_ns_)) / 1e9;
  return s;
}

// ---- classification -----------------------------------------------------------------------------------

std::string_view slot_label(MetricSlot slot) noexcept {
  if (slot == kApiSlot) return "api";
  if (slot == kHealthzSlot) return "healthz";
  if (slot == kMetricsSlot) return "metrics";
  if (slot == kConsoleSlot) return "console";
  if (index_of(slot) >= kProtocolSlots) return "unknown";
  return p::endpoint_id(static_cast<Endpoint>(slot));
}

MetricSlot classify_for_metrics(std::string_view method, std::string_view target, std::string_view body) {
  auto parsed = p::parse_target(target);
  const std::string path = p::normalize_path(parsed.path);
  if (path == "/healthz") return kHealthzSlot;
  if (path == "/metrics") return kMetricsSlot;
  const auto under = [&path](std::string_view tree) {
    return path.starts_with(tree) && (path.size() == tree.size() || path[tree.size()] == '/');
  };
  if (under("/api")) return kApiSlot;
  if (!under("/iclock") && !under("/files")) return kConsoleSlot;
  return metric_slot(p::classify(method, parsed.path, parsed.query, body));
}

EndpointGroup endpoint_group(MetricSlot slot) noexcept {
  if (slot == kApiSlot) return EndpointGroup::api;
  if (slot == kHealthzSlot || slot == kMetricsSlot) return EndpointGroup::internal;
  if (slot == kConsoleSlot) return EndpointGroup::console;
  if (index_of(slot) >= kProtocolSlots) return EndpointGroup::other;
  switch (static_cast<Endpoint>(slot)) {
    case Endpoint::init:
    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors:
    case Endpoint::registry:
    case Endpoint::push_config: return EndpointGroup::handshake;
    case Endpoint::getrequest:
    case Endpoint::ping:
    case Endpoint::rtdata_time: return EndpointGroup::poll;
    case Endpoint::devicecmd:
    case Endpoint::querydata_count:
    case Endpoint::querydata_tabledata:
    case Endpoint::querydata_vmtable:
    case Endpoint::querydata_options:
    case Endpoint::querydata_account_tgz:
    case Endpoint::account_overview:
    case Endpoint::account_file: return EndpointGroup::command;
    case Endpoint::firmware_file:
    case Endpoint::firmware_range: return EndpointGroup::file;
    case Endpoint::remote_auth:
    case Endpoint::http_intro_login:
    case Endpoint::unknown: return EndpointGroup::other;
    default: return EndpointGroup::upload;
  }
}

std::string_view group_label(EndpointGroup group) noexcept {
  switch (group) {
    case EndpointGroup::handshake: return "handshake";
    case EndpointGroup::poll: return "poll";
    case EndpointGroup::upload: return "upload";
    case EndpointGroup::command: return "command";
    case EndpointGroup::file: return "file";
    case EndpointGroup::other: return "other";
    case EndpointGroup::api: return "api";
    case EndpointGroup::internal: return "internal";
    case EndpointGroup::console: return "console";
  }
  return "other";
}

bool is_ingest(MetricSlot slot) noexcept {
  // upload: rtlog, rtstate, tabledata*, options, device logs; command: devicecmd results and
  // querydata / ACCOUNT uploads.
  const auto group = endpoint_group(slot);
  return group == EndpointGroup::upload || group == EndpointGroup::command;
}

// ---- counters -----------------------------------------------------------------------------------------

std::size_t Metrics::status_index(unsigned status) noexcept {
  return status >= 100 && status <= 599 ? status - 100 : kStatusSlots - 1;
}

void Metrics::record_response(MetricSlot slot, unsigned status, std::chrono::nanoseconds elapsed) noexcept {
  const auto i = std::min(index_of(slot), kMetricSlots - 1);
  requests_[i][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  durations_[static_cast<std::size_t>(endpoint_group(slot))].observe(elapsed);
  if (status == 200 && is_ingest(slot)) ingest_.observe(elapsed);
}

void Metrics::add_events(std::int64_t inserted, std::int64_t duplicates) noexcept {
  if (inserted > 0) events_ingested_.fetch_add(static_cast<std::uint64_t>(inserted), std::memory_order_relaxed);
  if (duplicates > 0) events_duplicate_.fetch_add(static_cast<std::uint64_t>(duplicates), std::memory_order_relaxed);
}

void Metrics::token_mismatch(TokenPolicy policy) noexcept {
  token_mismatch_[policy == TokenPolicy::strict ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::token_missing() noexcept { token_missing_.fetch_add(1, std::memory_order_relaxed); }

void Metrics::device_rate_limited(GuardScope scope) noexcept {
  device_rate_limited_[static_cast<std::size_t>(scope)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::device_lockout(GuardScope scope) noexcept {
  device_lockouts_[static_cast<std::size_t>(scope)].fetch_add(1, std::memory_order_relaxed);
}
void Metrics::device_locked_out(GuardScope scope) noexcept {
  device_locked_out_[static_cast<std::size_t>(scope)].fetch_add(1, std::memory_order_relaxed);
}
std::uint64_t Metrics::device_rate_limits(GuardScope scope) const noexcept {
  return load(device_rate_limited_[static_cast<std::size_t>(scope)]);
}
std::uint64_t Metrics::device_lockouts(GuardScope scope) const noexcept {
  return load(device_lockouts_[static_cast<std::size_t>(scope)]);
}
std::uint64_t Metrics::device_locked_out_requests(GuardScope scope) const noexcept {
  return load(device_locked_out_[static_cast<std::size_t>(scope)]);
}

std::uint64_t Metrics::requests(MetricSlot slot, unsigned status) const noexcept {
  return load(requests_[std::min(index_of(slot), kMetricSlots - 1)][status_index(status)]);
}

namespace {
std::size_t encryption_reason_index(std::string_view reason) noexcept {
  for (std::size_t i = 0; i < Metrics::kEncryptionFailureReasons.size(); ++i)
    if (Metrics::kEncryptionFailureReasons[i] == reason) return i;
  return 0;
}
}  // namespace

void Metrics::encryption_failure(std::string_view reason) noexcept {
  encryption_failures_[encryption_reason_index(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::encryption_failures(std::string_view reason) const noexcept {
  return load(encryption_failures_[encryption_reason_index(reason)]);
}

std::uint64_t Metrics::token_mismatches(TokenPolicy policy) const noexcept {
  return load(token_mismatch_[policy == TokenPolicy::strict ? 0 : 1]);
}

void Metrics::store_stats(storage::Store& store, std::function<void(std::optional<storage::StoreStats>)> done,
                          std::chrono::seconds max_age) {
  {
    std::lock_guard lock(store_mutex_);
    if (store_stats_ && std::chrono::steady_clock::now() - store_read_at_ < max_age) return done(store_stats_);
  }
  // stats() blocks while it counts: run it as a read, on the store's reader thread.
  store.read([&store](storage::Reads&) { return store.stats(); },
             [this, done = std::move(done)](storage::StoreResult<storage::StoreResult<storage::StoreStats>> r) {
               std::optional<storage::StoreStats> stats;
               if (r.ok() && r->ok()) {
                 stats = r->value();
               } else {
                 spdlog::warn("metrics: store statistics unavailable: {}",
                              r.ok() ? r->error().message : r.error().message);
               }
               {
                 std::lock_guard lock(store_mutex_);
                 store_stats_ = stats;
                 store_read_at_ = std::chrono::steady_clock::now();
               }
               done(stats);
             });
}

// ---- exposition ---------------------------------------------------------------------------------------

std::string Metrics::render(const ScrapeInputs& in) const {
  Writer w;
  w.gauge("zkpush_devices_known", "Devices the server knows (approved or not).", in.devices_known);
  w.gauge("zkpush_devices_online", "Devices seen within max(3 x RequestDelay, 90 s).", in.devices_online);
  w.gauge("zkpush_node_leads",
          "1 when this node leads (expiry, retention, webhooks and MQTT run here; always 1 alone on its store), "
          "else 0.",
          in.store_leads ? 1 : 0);
  w.gauge("zkpush_devices_pending_approval", "Devices waiting for approval (--registration approve).",
          in.devices_pending_approval);
  w.gauge("zkpush_command_queue_depth", "Commands queued or sent and not answered yet, all devices.",
          in.command_queue_depth);
  w.gauge("zkpush_trace_bytes", "Bytes the wire trace holds (devices' last exchanges; --trace-memory is its budget).",
          in.trace_bytes);

  w.family("zkpush_requests_total", "counter", "Requests answered by the front, by endpoint and status.");
  for (std::size_t e = 0; e < kMetricSlots; ++e) {
    for (std::size_t s = 0; s < kStatusSlots; ++s) {
      const auto n = load(requests_[e][s]);
      if (n == 0) continue;
      const std::string status = s == kStatusSlots - 1 ? "other" : std::to_string(s + 100);
      w.sample("zkpush_requests_total",
               "endpoint=\"" + std::string(slot_label(static_cast<MetricSlot>(e))) + "\",status=\"" + status + "\"", n);
    }
  }
  w.family("zkpush_request_duration_seconds", "histogram",
           "Time from a request handed to the front to its answer, by endpoint group.");
  for (std::size_t g = 0; g < kEndpointGroups; ++g) {
    auto snapshot = durations_[g].snapshot();
    if (snapshot.count == 0) continue;
    w.histogram("zkpush_request_duration_seconds",
                "group=\"" + std::string(group_label(static_cast<EndpointGroup>(g))) + "\"", snapshot);
  }
  w.family("zkpush_ingest_duration_seconds", "histogram",
           "Time from an upload handed to the front to its 200, given once the store committed it.");
  w.histogram("zkpush_ingest_duration_seconds", "", ingest_.snapshot());

  w.counter("zkpush_events_ingested_total", "Events stored (rtlog and recovered transactions), new rows only.",
            load(events_ingested_));
  w.counter("zkpush_events_duplicate_total", "Events received again and recognised as already stored.",
            load(events_duplicate_));
  w.family("zkpush_token_mismatch_total", "counter", "Requests whose token cookie did not match, by token policy.");
  w.sample("zkpush_token_mismatch_total", "policy=\"strict\"", load(token_mismatch_[0]));
  w.sample("zkpush_token_mismatch_total", "policy=\"warn\"", load(token_mismatch_[1]));
  w.family("zkpush_encryption_failures_total", "counter",
           "Device requests the encryption layer refused, by reason (docs/encryption.md).");
  for (std::size_t i = 0; i < kEncryptionFailureReasons.size(); ++i)
    w.sample("zkpush_encryption_failures_total", "reason=\"" + std::string(kEncryptionFailureReasons[i]) + "\"",
             load(encryption_failures_[i]));
  w.counter("zkpush_token_missing_total", "Requests without a token cookie from a device that has a session.",
            load(token_missing_));
  const auto guard = [&w](const char* name, const char* help, const std::array<std::atomic<std::uint64_t>, 2>& by_scope) {
    w.family(name, "counter", help);
    w.sample(name, "scope=\"device\"", load(by_scope[0]));
    w.sample(name, "scope=\"address\"", load(by_scope[1]));
  };
  guard("zkpush_device_rate_limited_total",
        "Device requests answered 503 by a rate limit, by scope (--device-rate, --address-rate).", device_rate_limited_);
  guard("zkpush_device_lockouts_total",
        "Lockouts started after repeated refused device tokens, by scope (serial number, peer address).",
        device_lockouts_);
  guard("zkpush_device_locked_out_total", "Device requests refused (403) during a lockout, by scope.",
        device_locked_out_);
  w.counter("zkpush_api_bad_tokens_total", "API requests with a wrong bearer token (missing ones not counted).",
            load(api_bad_tokens_));
  w.counter("zkpush_api_lockouts_total",
            "Addresses locked out of the API for a minute after --api-lockout-after wrong bearer tokens.",
            load(api_lockouts_));
  w.counter("zkpush_remote_auth_timeouts_total",
            "Remote identifications answered AUTH=TIMEOUT (the store failed or --remote-auth-deadline passed).",
            in.remote_auth_timeouts);

  if (in.transport) {
    const auto& c = *in.transport;
    w.gauge("zkpush_http_connections_open", "Connections currently open.",
            static_cast<std::int64_t>(load(c.connections_open)));
    w.counter("zkpush_http_connections_accepted_total", "Connections accepted, refused ones included.",
              load(c.connections_accepted));
    w.counter("zkpush_http_connections_refused_total", "Connections closed at once: connection limit reached.",
              load(c.connections_rejected));
    w.counter("zkpush_http_accept_errors_total", "accept() failures (EMFILE...).", load(c.accept_errors));
    w.counter("zkpush_http_timeouts_total", "Connections closed by a timeout.", load(c.timeouts));
    w.counter("zkpush_http_responses_4xx_total", "4xx responses, the transport's own 400/413/431 included.",
              load(c.responses_4xx));
    w.counter("zkpush_http_responses_5xx_total", "5xx responses.", load(c.responses_5xx));
    w.counter("zkpush_http_received_bytes_total", "Request bytes read.", load(c.bytes_received));
    w.counter("zkpush_http_sent_bytes_total", "Response bytes written.", load(c.bytes_sent));
    w.counter("zkpush_tls_handshake_failures_total",
              "TLS handshakes that failed or timed out on the TLS listener (--tls-listen).",
              load(c.tls_handshake_failures));
    if (const auto expiry = c.tls_certificate_expiry.load(std::memory_order_relaxed); expiry != 0) {
      w.gauge("zkpush_tls_certificate_expiry_seconds",
              "When the TLS listener's certificate expires, Unix time (reloaded on SIGHUP).", expiry);
    }
  }
  if (in.store) {
    const auto& s = *in.store;
    w.gauge("zkpush_store_devices", "Device rows in the database (read at most every 30 s).", s.devices);
    w.gauge("zkpush_store_events", "Event rows in the database (read at most every 30 s).", s.events);
    w.gauge("zkpush_store_queued_commands", "Open commands in the database (read at most every 30 s).",
            s.queued_commands);
    w.gauge("zkpush_store_write_queue", "Writes waiting for the store's writer thread.",
            static_cast<std::int64_t>(s.write_queue));
    w.counter("zkpush_store_write_groups_total", "Transactions (group commits) written.", s.write_groups);
    w.counter("zkpush_store_write_jobs_total", "Writes committed in those transactions.", s.write_jobs);
    w.counter("zkpush_store_failed_commits_total", "Transactions that failed to commit.", s.failed_commits);
  }
  std::string out = w.take();
  if (in.process) out += render_process_metrics();
  return out;
}

// ---- process ------------------------------------------------------------------------------------------

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// System boot time (unix seconds), from /proc/stat "btime".
std::optional<std::int64_t> boot_time() {
  std::istringstream in(read_file("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      std::int64_t value = 0;
      if (in >> value) return value;
      return std::nullopt;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

}  // namespace

std::string render_process_metrics() {
  const std::string stat = read_file("/proc/self/stat");
  // The command name (field 2) is in parentheses and may hold spaces and ')': fields are counted
  // from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
  // fields[0] is field 3 (state): field n is fields[n - 3].
  auto field = [&fields](std::size_t n) -> std::optional<double> {
    if (n < 3 || n - 3 >= fields.size()) return std::nullopt;
    double value = 0;
    const auto& f = fields[n - 3];
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), value);
    if (ec != std::errc{}) return std::nullopt;
    return value;
  };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  Writer w;
  if (auto utime = field(14), stime = field(15); utime && stime && ticks > 0) {
    w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", "", number((*utime + *stime) / ticks));
  }
  if (auto vsize = field(23)) {
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", "", number(*vsize));
  }
  if (auto rss = field(24); rss && page > 0) {
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", "", number(*rss * page));
  }
  const auto start = field(22);
  if (const auto boot = boot_time(); start && boot && ticks > 0) {
    w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    w.sample("process_start_time_seconds", "", number(static_cast<double>(*boot) + *start / ticks));
  }
  std::error_code ec;
  std::int64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) {
    w.gauge("process_open_fds", "Number of open file descriptors.", fds);
  }
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    w.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<std::int64_t>(limit.rlim_cur));
  }
  return w.take();
}

// ---- responder, log-once ------------------------------------------------------------------------------

MeteredResponder::MeteredResponder(http::Responder inner, Metrics& metrics, MetricSlot slot) noexcept
    : inner_(std::move(inner)), metrics_(metrics), slot_(slot), start_(std::chrono::steady_clock::now()) {}

MeteredResponder::~MeteredResponder() {
  if (inner_) answered(500, nullptr);
}

void MeteredResponder::answered(int status, const http::Response* response) {
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  metrics_.record_response(slot_, static_cast<unsigned>(status), elapsed);
  if (auto tap = std::move(tap_)) tap(Answered{status, response, elapsed});
  if (auto observer = std::move(observer_)) observer(status);
}

void MeteredResponder::operator()(http::Response response) {
  if (!inner_) return;
  // Counted before the answer leaves: a client that reads /metrics right after its answer sees it.
  answered(static_cast<int>(response.result_int()), &response);
  for (const auto& [name, value] : extra_headers_) response.set(name, value);
  if (auto transform = std::move(transform_)) transform(response);
  inner_(std::move(response));
}

std::shared_ptr<http::Stream> MeteredResponder::stream(http::ResponseHead head) {
  if (!inner_) return inner_.stream(std::move(head));  // answered before: a closed stream
  answered(static_cast<int>(head.result_int()), nullptr);
  for (const auto& [name, value] : extra_headers_) head.set(name, value);
  return inner_.stream(std::move(head));
}

bool OncePerKey::first(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (seen_.size() >= capacity_ && !seen_.contains(key)) seen_.clear();
  return seen_.insert(key).second;
}

}  // namespace zkpush::front
