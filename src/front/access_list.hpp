// The device allow-list of `zkpush serve` (--allow-sn, --allow-net): which serial numbers and
// which peer networks may use /iclock/*. Checked before anything else touches the registry or the
// database, so an unlisted device never gets a row. /healthz, /metrics and /api/* are not subject
// to it (the API has its own token).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zkpush::front {

// Glob match of a whole serial number: '*' any run of characters (also none), '?' one character;
// everything else literal and case-sensitive (serial numbers are exact identifiers).
bool glob_match(std::string_view pattern, std::string_view text);

// Entries as given on the command line or in the environment: each may be a comma list; blanks
// around items and empty items (a trailing comma) are dropped.
std::vector<std::string> split_list(const std::vector<std::string>& entries);

class AccessList {
 public:
  AccessList() = default;  // allows everything
  // Throws std::invalid_argument naming the first bad entry (unreadable address, prefix out of
  // range, host bits set, a pattern with blanks or brackets).
  AccessList(const std::vector<std::string>& serials, const std::vector<std::string>& networks);

  // The peer address as Asio prints it ("10.1.2.3", "::1", "::ffff:10.1.2.3", "fe80::1%eth0").
  // IPv4-mapped IPv6 peers are matched against IPv4 networks. An unreadable address is refused
  // when there are networks. No networks = every peer.
  bool network_allowed(std::string_view ip) const;
  // No patterns = every serial number; otherwise an empty one is refused.
  bool serial_allowed(std::string_view sn) const;
  // nullopt when allowed; else a one-line reason for the 403.
  std::optional<std::string> refusal(std::string_view ip, std::string_view sn) const;

  bool allows_all() const noexcept { return serials_.empty() && networks_.empty(); }
  std::size_t serial_count() const noexcept { return serials_.size(); }
  std::size_t network_count() const noexcept { return networks_.size(); }
  // "serial numbers A*, B; networks 10.0.0.0/8" for the start-up log.
  std::string describe() const;

 private:
  struct Network {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4
    unsigned prefix = 0;
    bool v4 = false;
    std::string text;
  };
  std::vector<std::string> serials_;
  std::vector<Network> networks_;
};

// Whether a peer address is the machine itself: 127.0.0.0/8, ::1, or IPv4-mapped 127.x.
bool is_loopback(std::string_view ip);

// The router's side of the list: refusals are logged (warn), at most one line per peer address and
// serial number a minute, so a misconfigured device polling every few seconds cannot flood the log,
// yet an installer behind NAT sees every refused serial number, not only the first. Flood guard: at
// most kLinesPerAddress lines per address a minute (a peer inventing serial numbers); what was left
// out is counted in the next line.
class DeviceAccess {
 public:
  explicit DeviceAccess(AccessList list) : list_(std::move(list)) {}
  DeviceAccess(const std::vector<std::string>& serials, const std::vector<std::string>& networks)
      : list_(serials, networks) {}

  // nullopt when allowed; else the reason to answer with 403 (already logged, or counted).
  std::optional<std::string> check(std::string_view ip, std::string_view sn);
  // The network part alone, for requests that name no device (/files/ downloads).
  std::optional<std::string> check_network(std::string_view ip);

 private:
  std::optional<std::string> logged(std::string_view ip, std::string_view sn, std::optional<std::string> reason);
  struct LogState {  // one (address, serial number)
    std::chrono::steady_clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  struct AddressState {  // the flood guard of one address
    std::chrono::steady_clock::time_point window;
    unsigned lines = 0;
    std::uint64_t suppressed = 0;  // refusals of serial numbers past the budget, not logged
  };
  AccessList list_;
  std::mutex mutex_;
  std::unordered_map<std::string, LogState> log_state_;  // key: address, NUL, serial number
  std::unordered_map<std::string, AddressState> address_state_;

 public:
  static constexpr unsigned kLinesPerAddress = 20;
};

}  // namespace zkpush::front
