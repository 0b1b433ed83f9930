#include "front/wire_trace.hpp"

#include <algorithm>

#include "protocol/text.hpp"

namespace zkpush::front {

namespace {

// Bytes a string holds on the heap (libstdc++ keeps up to 15 characters inside the object).
std::size_t heap(const std::string& s) noexcept { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

// A hash node's overhead beside its value: the next pointer, the cached hash, the bucket slot.
constexpr std::size_t kNodeOverhead = 3 * sizeof(void*);
// A device's deque before its first entry: the map of 8 block pointers it allocates.
constexpr std::size_t kDequeOverhead = 8 * sizeof(void*);

// A reference in the FIFO (WireTrace::Ref: a string and a number), counted from when it is pushed
// until it is popped or compacted away, stale or not.
constexpr std::size_t kRefSize = 40;
std::size_t ref_cost(const std::string& sn) noexcept { return kRefSize + heap(sn); }

}  // namespace

bool TraceExchange::same_exchange(const TraceExchange& o) const noexcept {
  return status == o.status && method == o.method && target == o.target && request == o.request &&
         response == o.response;
}

WireTrace::WireTrace(const WireTraceOptions& options) : options_(options) {}

TraceBody WireTrace::keep(std::string_view body) const {
  TraceBody out;
  out.bytes = body.size();
  out.truncated = body.size() > options_.max_body;
  out.text.assign(body.substr(0, options_.max_body));
  redact(out.text);
  return out;
}

namespace {

bool separator(char c) noexcept {
  return c == '\t' || c == '\n' || c == '\r' || c == '&' || c == ',' || c == ';' || c == '?' || c == ' ';
}

bool secret_key(std::string_view key) noexcept {
  namespace t = protocol::text;
  constexpr std::string_view kPassword = "password";
  return t::iequals(key, "RegistryCode") || t::iequals(key, "SessionID") || t::iequals(key, "token") ||
         (key.size() >= kPassword.size() && t::iequals(key.substr(key.size() - kPassword.size()), kPassword));
}

}  // namespace

void WireTrace::redact(std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    // A key starts at the beginning or after a separator and runs to '='.
    const std::size_t key_start = i;
    while (i < text.size() && text[i] != '=' && !separator(text[i])) ++i;
    if (i >= text.size()) break;
    if (text[i] != '=') {
      ++i;
      continue;
    }
    const std::string_view key(text.data() + key_start, i - key_start);
    const std::size_t value_start = ++i;
    while (i < text.size() && !separator(text[i])) ++i;
    if (secret_key(key) && i > value_start) {
      text.replace(value_start, i - value_start, kNotKept);
      i = value_start + kNotKept.size();
    }
  }
}

bool WireTrace::secret_header(std::string_view name) noexcept {
  namespace t = protocol::text;
  return t::iequals(name, "Cookie") || t::iequals(name, "Authorization") || t::iequals(name, "Proxy-Authorization");
}

std::size_t WireTrace::cost(const TraceExchange& e) noexcept {
  // The deque holds an entry in a block of its own (larger than libstdc++'s 512-byte blocks), plus
  // its slot in the deque's map.
  return sizeof(TraceExchange) + sizeof(void*) + heap(e.method) + heap(e.target) + heap(e.headers) +
         heap(e.request.text) + heap(e.response.text);
}

std::size_t WireTrace::device_cost(std::string_view sn) noexcept {
  return sizeof(Map::value_type) + kNodeOverhead + kDequeOverhead + (sn.size() > 15 ? sn.size() + 1 : 0);
}

void WireTrace::record(std::string_view sn, TraceExchange exchange) {
  static_assert(sizeof(Ref) <= kRefSize);
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  const std::uint64_t seq = next_seq_++;
  auto it = devices_.find(sn);
  if (it != devices_.end() && !it->second.entries.empty() && it->second.entries.back().same_exchange(exchange)) {
    TraceExchange& last = it->second.entries.back();
    last.last_seq = seq;
    last.last_time_ms = exchange.time_ms;
    last.duration_us = exchange.duration_us;
    ++last.repeat;
    return;
  }
  if (it == devices_.end()) {
    it = devices_.emplace(std::string(sn), Device{}).first;
    used_ += device_cost(sn);
  }
  exchange.seq = exchange.last_seq = seq;
  exchange.last_time_ms = exchange.time_ms;
  exchange.repeat = 1;
  used_ += cost(exchange);
  it->second.entries.push_back(std::move(exchange));
  fifo_.push_back(Ref{it->first, seq});
  used_ += ref_cost(it->first);
  if (it->second.entries.size() > options_.depth) {
    drop_front(it);  // its reference stays in the FIFO, stale
    ++stale_;
  }
  evict();
  if (stale_ > 1024 && stale_ * 2 > fifo_.size()) compact();
  bytes_.store(used_, std::memory_order_relaxed);
}

void WireTrace::drop_front(Map::iterator device) {
  auto& entries = device->second.entries;
  used_ -= cost(entries.front());
  entries.pop_front();
  if (entries.empty()) {
    used_ -= device_cost(device->first);
    devices_.erase(device);
  }
}

void WireTrace::evict() {
  while (used_ > options_.memory_bytes && !fifo_.empty()) {
    Ref ref = std::move(fifo_.front());
    fifo_.pop_front();
    used_ -= ref_cost(ref.sn);
    auto it = devices_.find(ref.sn);
    // Entries go in seq order, and every older reference has been popped: a live entry for this
    // reference is its device's oldest.
    if (it == devices_.end() || it->second.entries.front().seq != ref.seq) {
      --stale_;
      continue;
    }
    drop_front(it);
  }
}

void WireTrace::compact() {
  std::deque<Ref> kept;
  for (auto& ref : fifo_) {
    auto it = devices_.find(ref.sn);
    bool live = false;
    if (it != devices_.end()) {
      const auto& entries = it->second.entries;
      auto at = std::lower_bound(entries.begin(), entries.end(), ref.seq,
                                 [](const TraceExchange& e, std::uint64_t seq) { return e.seq < seq; });
      live = at != entries.end() && at->seq == ref.seq;
    }
    if (live) kept.push_back(std::move(ref));
    else used_ -= ref_cost(ref.sn);
  }
  fifo_ = std::move(kept);
  stale_ = 0;
}

std::vector<TraceExchange> WireTrace::newest(std::string_view sn, std::size_t limit, std::uint64_t after) const {
  std::vector<TraceExchange> out;
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return out;
  const auto& entries = it->second.entries;
  for (auto e = entries.rbegin(); e != entries.rend() && out.size() < limit; ++e) {
    if (e->last_seq <= after) break;  // last_seqs increase along the deque too
    out.push_back(*e);
  }
  return out;
}

bool WireTrace::holds(std::string_view sn) const {
  std::lock_guard lock(mutex_);
  return devices_.find(sn) != devices_.end();
}

std::size_t WireTrace::clear(std::string_view sn) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return 0;
  const std::size_t n = it->second.entries.size();
  for (const auto& e : it->second.entries) used_ -= cost(e);
  used_ -= device_cost(it->first);
  devices_.erase(it);
  stale_ += n;  // their references stay in the FIFO until evicted or compacted
  if (stale_ > 1024 && stale_ * 2 > fifo_.size()) compact();
  bytes_.store(used_, std::memory_order_relaxed);
  return n;
}

std::size_t WireTrace::devices() const {
  std::lock_guard lock(mutex_);
  return devices_.size();
}

std::size_t WireTrace::entries() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [sn, device] : devices_) n += device.entries.size();
  return n;
}

}  // namespace zkpush::front
