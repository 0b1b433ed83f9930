#include "front/access_list.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <stdexcept>
#include <utility>

#include "protocol/text.hpp"

namespace zkpush::front {

namespace {

// One refusal line per peer address per kLogEvery; at most kMaxSources addresses remembered.
constexpr auto kLogEvery = std::chrono::minutes(1);
constexpr std::size_t kMaxSources = 4096;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Address {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;
};

bool is_v4_mapped(const std::array<std::uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[static_cast<std::size_t>(i)] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

// A plain address (no prefix); IPv4-mapped IPv6 becomes IPv4 so that one rule covers both ways a
// dual-stack listener may report the same peer.
std::optional<Address> parse_address(std::string_view text) {
  if (auto percent = text.find('%'); percent != std::string_view::npos) text = text.substr(0, percent);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  const std::string s(text);
  Address a;
  if (s.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.v4 = true;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  if (is_v4_mapped(a.bytes)) {
    std::array<std::uint8_t, 16> v4{};
    for (std::size_t i = 0; i < 4; ++i) v4[i] = a.bytes[12 + i];
    a.bytes = v4;
    a.v4 = true;
  }
  return a;
}

bool same_prefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, unsigned prefix) {
  std::size_t i = 0;
  for (; prefix >= 8; prefix -= 8, ++i) {
    if (a[i] != b[i]) return false;
  }
  if (prefix == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - prefix));
  return (a[i] & mask) == (b[i] & mask);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Greedy with one backtrack point: the last '*' seen absorbs one more character on a mismatch.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> split_list(const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) {
    std::string_view rest = entry;
    while (true) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

AccessList::AccessList(const std::vector<std::string>& serials, const std::vector<std::string>& networks) {
  for (auto& pattern : split_list(serials)) {
    for (char c : pattern) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isspace(u) || std::iscntrl(u) || u >= 0x80) {
        throw std::invalid_argument("--allow-sn: '" + pattern + "': only printable ASCII without blanks");
      }
      if (c == '[' || c == ']') {
        throw std::invalid_argument("--allow-sn: '" + pattern + "': only * and ? are wildcards, [ ] are not supported");
      }
    }
    serials_.push_back(std::move(pattern));
  }
  for (const auto& text : split_list(networks)) {
    const auto bad = [&text](const std::string& why) {
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation): an error, built once and thrown
      return std::invalid_argument("--allow-net: '" + text + "': " + why);
    };
    const auto slash = text.find('/');
    auto address = parse_address(std::string_view(text).substr(0, slash));
    if (!address) throw bad("not an IPv4 or IPv6 address (expected e.g. 10.0.0.0/8, 192.168.1.7, ::1/128)");
    const bool written_v6 = text.substr(0, slash).find(':') != std::string::npos;
    const unsigned written_bits = written_v6 ? 128 : 32;
    unsigned prefix = written_bits;
    if (slash != std::string::npos) {
      const std::string digits = text.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw bad("the prefix length after / must be a number");
      }
      prefix = static_cast<unsigned>(protocol::text::parse_int(digits).value_or(0));
      if (prefix > written_bits) throw bad("prefix length above " + std::to_string(written_bits));
    }
    Network n;
    n.v4 = address->v4;
    n.bytes = address->bytes;
    n.text = text;
    if (written_v6 && n.v4) {
      // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
      if (prefix < 96) throw bad("an IPv4-mapped network needs a prefix of at least 96");
      prefix -= 96;
    }
    n.prefix = prefix;
    std::array<std::uint8_t, 16> masked{};
    for (std::size_t i = 0; i < 16; ++i) {
      const unsigned bit = static_cast<unsigned>(i) * 8;
      if (bit + 8 <= prefix) {
        masked[i] = n.bytes[i];
      } else if (bit < prefix) {
        masked[i] = static_cast<std::uint8_t>(n.bytes[i] & (0xff << (8 - (prefix - bit))));
      }
    }
    // A set host bit is most often a typo for another network: say so rather than guess.
    if (masked != n.bytes) {
      char buffer[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(n.v4 ? AF_INET : AF_INET6, masked.data(), buffer, sizeof buffer);
      throw bad(std::string("host bits set after the prefix (did you mean ") + buffer + "/" + std::to_string(prefix) + "?)");
    }
    networks_.push_back(std::move(n));
  }
}

bool AccessList::network_allowed(std::string_view ip) const {
  if (networks_.empty()) return true;
  auto address = parse_address(ip);
  if (!address) return false;
  for (const auto& n : networks_) {
    if (n.v4 == address->v4 && same_prefix(n.bytes, address->bytes, n.prefix)) return true;
  }
  return false;
}

bool AccessList::serial_allowed(std::string_view sn) const {
  if (serials_.empty()) return true;
  if (sn.empty()) return false;
  for (const auto& pattern : serials_) {
    if (glob_match(pattern, sn)) return true;
  }
  return false;
}

std::optional<std::string> AccessList::refusal(std::string_view ip, std::string_view sn) const {
  if (!network_allowed(ip)) return "network not allowed: " + std::string(ip);
  if (!serial_allowed(sn)) {
    return sn.empty() ? std::string("serial number required by the allow-list")
                      : "serial number not allowed: " + std::string(sn);
  }
  return std::nullopt;
}

std::string AccessList::describe() const {
  const auto join = [](const auto& items, const auto& text_of) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + text_of(item);
    return out.empty() ? std::string("all") : out;
  };
  return "serial numbers " + join(serials_, [](const std::string& s) { return s; }) + "; networks " +
         join(networks_, [](const Network& n) { return n.text; });
}

std::optional<std::string> DeviceAccess::check(std::string_view ip, std::string_view sn) {
  return logged(ip, sn, list_.refusal(ip, sn));
}

std::optional<std::string> DeviceAccess::check_network(std::string_view ip) {
  if (list_.network_allowed(ip)) return std::nullopt;
  return logged(ip, "-", "network not allowed: " + std::string(ip));
}

std::optional<std::string> DeviceAccess::logged(std::string_view ip, std::string_view sn,
                                                std::optional<std::string> reason) {
  if (!reason) return reason;
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t suppressed = 0, address_suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    if (log_state_.size() >= kMaxSources || address_state_.size() >= kMaxSources) {
      // Forget quiet sources first; under a flood of distinct addresses or serial numbers, forget
      // everything: the cost is a few more log lines, never unbounded memory.
      std::erase_if(log_state_, [now](const auto& entry) { return now - entry.second.last >= kLogEvery; });
      std::erase_if(address_state_, [now](const auto& entry) { return now - entry.second.window >= kLogEvery; });
      if (log_state_.size() >= kMaxSources) log_state_.clear();
      if (address_state_.size() >= kMaxSources) address_state_.clear();
    }
    std::string key;
    key.reserve(ip.size() + 1 + sn.size());
    key.append(ip).push_back('\0');
    key.append(sn);
    auto pair = log_state_.find(key);
    if (pair != log_state_.end() && now - pair->second.last < kLogEvery) {
      ++pair->second.suppressed;
      return reason;
    }
    auto& address = address_state_[std::string(ip)];
    if (address.lines == 0 || now - address.window >= kLogEvery) {
      address.window = now;
      address.lines = 0;
    }
    if (address.lines >= kLinesPerAddress) {
      ++address.suppressed;
      return reason;
    }
    ++address.lines;
    address_suppressed = std::exchange(address.suppressed, 0);
    if (pair != log_state_.end()) {
      suppressed = pair->second.suppressed;
      pair->second = LogState{now, 0};
    } else {
      log_state_.emplace(std::move(key), LogState{now, 0});
    }
  }
  std::string more;
  if (suppressed > 0) more += fmt::format(" ({} more refused for this serial number in the last minute or so)", suppressed);
  if (address_suppressed > 0)
    more += fmt::format(" ({} refusals of other serial numbers from this address not logged: more than {} a minute)",
                        address_suppressed, kLinesPerAddress);
  spdlog::warn("{} {}: 403 {}{}", protocol::text::printable(ip), protocol::text::printable(sn), protocol::text::printable(*reason), more);
  return reason;
}

bool is_loopback(std::string_view ip) {
  auto address = parse_address(ip);
  if (!address) return false;
  if (address->v4) return address->bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return address->bytes == kV6Loopback;
}

}  // namespace zkpush::front
