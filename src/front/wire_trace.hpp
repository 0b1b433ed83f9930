// The wire trace: each device's last exchanges with the server as they went over the wire, for an
// installer debugging a panel (GET /api/v1/devices/{sn}/trace; docs/serve.md "Wire trace").
//
// Keyed by the serial number the request carries, whether or not the server knows the device: the
// unknown, unapproved and refused devices are the ones an installer debugs.
//
// In memory only, bounded twice: a depth per device (its last N entries) and one byte budget over
// all devices (--trace-memory). Past the budget the globally oldest entries go first, found through
// one FIFO of (device, entry) references in the order entries were made; a reference whose entry
// is already gone (pushed out by the depth, or cleared) is skipped. So 10,000 panels, or a flood of
// invented serial numbers, cost the budget and no more, and a device that talks rarely keeps its
// last exchanges until newer traffic needs the room.
//
// Repeats collapse: an idle panel polls getrequest every few seconds, and a hundred identical "OK"
// polls would push out the one exchange that went wrong. An exchange equal to the device's newest
// entry (method, target, request body, status, response body) bumps that entry's repeat count, last
// time and last_seq instead of making a new one.
//
// The hot path stays cheap: the caller copies and cuts what it keeps (keep()) before record(), which
// holds one mutex for a hash lookup, a compare with the newest entry, a move and the evictions it
// causes. Decoding happens when the trace is read, never when it is written.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zkpush::front {

// A body as the trace keeps it: its first bytes, and how large it was.
struct TraceBody {
  std::string text;         // at most WireTraceOptions::max_body bytes; "(N bytes)" for a download
  std::uint64_t bytes = 0;  // the whole body
  bool truncated = false;   // text is not the whole body
  bool operator==(const TraceBody&) const = default;
};

// One entry: an exchange, or several identical ones in a row.
struct TraceExchange {
  std::uint64_t seq = 0;       // set by record(): the entry's id, increasing over all devices
  std::uint64_t last_seq = 0;  // the seq of the last exchange folded into it (seq until it repeats)
  std::int64_t time_ms = 0;    // unix ms when the (first) request came in
  std::int64_t last_time_ms = 0;
  std::uint64_t repeat = 1;
  std::string method;
  std::string target;          // path and query as sent, cut at max_body
  std::string_view endpoint;   // the catalogue id ("getrequest", "rtlog"...): static text
  std::string headers;         // "Name: value\n" per request header; secrets' values not kept
  TraceBody request;
  int status = 0;
  TraceBody response;
  std::int64_t duration_us = 0;  // request to answer, of the last one

  // Same exchange again (what collapses): method, target, request body, status, response body.
  bool same_exchange(const TraceExchange& other) const noexcept;
};

struct WireTraceOptions {
  std::size_t memory_bytes = std::size_t{16} << 20;  // the budget over all devices; 0 = tracing off
  std::size_t depth = 100;                            // entries per device
  std::size_t max_body = 4096;                        // bytes kept of each body (and of the target)
};

class WireTrace {
 public:
  explicit WireTrace(const WireTraceOptions& options = {});

  bool enabled() const noexcept { return options_.memory_bytes > 0 && options_.depth > 0; }
  const WireTraceOptions& options() const noexcept { return options_; }

  // `body` as kept: its first max_body bytes, secrets redacted.
  TraceBody keep(std::string_view body) const;
  // Replaces by kNotKept the value of every key=value (separated by tab, line end, '&', ',', ';', '?'
  // or a space) whose key is RegistryCode, SessionID or token, or ends in "password" (any case):
  // the first two make a device's token (an MD5 of them with its serial number), the others are
  // credentials in user rows, door duress / emergency passwords and queries. An operator reading
  // the trace must not be able to impersonate a panel or learn a PIN code.
  static void redact(std::string& text);
  // Headers that carry secrets: their value is replaced by kNotKept. Cookie holds the device's
  // token (a session credential); Authorization and Proxy-Authorization are kept out the same way.
  static bool secret_header(std::string_view name) noexcept;
  static constexpr std::string_view kNotKept = "(not kept)";

  // Adds an exchange of device `sn` (seq, last_seq, last_time_ms and repeat are set here), or folds
  // it into the device's newest entry when it is the same exchange. Nothing when tracing is off.
  void record(std::string_view sn, TraceExchange exchange);

  // The device's entries, newest first: at most `limit` of those whose last_seq is above `after`.
  std::vector<TraceExchange> newest(std::string_view sn, std::size_t limit, std::uint64_t after = 0) const;
  // Whether the device has entries.
  bool holds(std::string_view sn) const;
  // Drops the device's entries; how many there were.
  std::size_t clear(std::string_view sn);

  // What the trace holds, estimated from the strings' capacities and the containers' sizes (the
  // zkpush_trace_bytes gauge); never above the budget once record() returns.
  std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  std::size_t devices() const;
  std::size_t entries() const;

 private:
  struct Device {
    std::deque<TraceExchange> entries;  // oldest first; seqs increasing
  };
  // An entry's place in the global FIFO. Stale once its entry is gone.
  struct Ref {
    std::string sn;
    std::uint64_t seq = 0;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Device, Hash, std::equal_to<>>;

  static std::size_t cost(const TraceExchange& e) noexcept;
  static std::size_t device_cost(std::string_view sn) noexcept;
  void drop_front(Map::iterator device);   // the device's oldest entry; erases an emptied device
  void evict();                            // oldest entries first, until within the budget
  void compact();                          // the FIFO without its stale references

  WireTraceOptions options_;
  mutable std::mutex mutex_;
  Map devices_;
  std::deque<Ref> fifo_;
  std::size_t stale_ = 0;  // references in fifo_ whose entry is gone
  std::size_t used_ = 0;   // bytes_, under the mutex
  std::uint64_t next_seq_ = 1;
  std::atomic<std::size_t> bytes_{0};
};

}  // namespace zkpush::front
