// Session-level values: the Cookie token (4.5), and the protocol version both sides agree on
// (4.1, Appendix 13).
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

// ---- token ----------------------------------------------------------------------------------------------

// MD5 of the bytes as hex; "" only if the crypto library fails.
std::string md5_hex(std::string_view bytes, bool upper_case = false);
// The token a device sends after push config: lower-case hex MD5 of RegistryCode, SerialNumber and
// SessionID concatenated in that order with no separator (docs/protocol-decisions.md, 5).
std::string compute_token(std::string_view registry_code, std::string_view serial_number, std::string_view session_id);
// Tokens compare without regard to hex case; the comparison time does not depend on where they differ.
bool token_matches(std::string_view given, std::string_view expected) noexcept;

// Other ways firmware might compute the token, for diagnosing a mismatch.
struct TokenVariant {
  std::string name;   // "RegistryCode+SN+SessionID, lower-case hex", ...
  std::string token;
};
// The standard formula comes first, then other orders, upper-case hex, and the forms without a
// SessionID or RegistryCode that a device uses before push config or registration.
std::vector<TokenVariant> token_variants(std::string_view registry_code, std::string_view serial_number,
                                         std::string_view session_id);
// The name of the first variant equal to `given` (exactly, so that a case difference shows); nullopt
// when none is.
std::optional<std::string> diagnose_token(std::string_view given, std::string_view registry_code,
                                          std::string_view serial_number, std::string_view session_id);

// ---- Cookie header ----------------------------------------------------------------------------------

struct CookieToken {
  std::string token;
  std::string timestamp;  // "timestamp=" of the 4.5 template, "" when absent (never defined)
  bool bare = false;      // sent without "token=" (7.4 example)
};
// "token=<hex>", "token=<hex>, timestamp=<x>", a bare 32-digit hex token, or a token among other
// cookies separated by ';' or ','. The name "token" matches in any case. nullopt without a token.
std::optional<CookieToken> parse_cookie_token(std::string_view header_value);

// ---- upload schedule ---------------------------------------------------------------------------------

// TransTimes (4.1, 8): the times of day at which a device with Realtime=0 sends what it collected,
// as minutes after midnight, sorted, without duplicates, at most 10 (the manual's limit). Liberal
// as firmware and the manual itself are: "00:00;14:00", "00: 00;14: 00" (spaces), "12:30; 14:30",
// and the manual's run-together "00:0014:00". Entries that are not a time of day are skipped.
std::vector<int> parse_trans_times(std::string_view text);
// The first of `times` (minutes after midnight) strictly after `minute_of_day`, as minutes from
// now (1..1440); nullopt when `times` is empty.
std::optional<int> minutes_until_next(const std::vector<int>& times, int minute_of_day);

// ---- protocol version -------------------------------------------------------------------------------

struct ProtocolVersion {
  int major = 3;
  int minor = 0;
  int patch = 1;

  auto operator<=>(const ProtocolVersion&) const = default;
  std::string to_string() const;  // "3.1.2"
};

inline constexpr ProtocolVersion kDefaultProtocolVersion{3, 0, 1};  // when a side states none
inline constexpr ProtocolVersion kEncryptionVersion{3, 1, 1};       // exchange publickey/factors
inline constexpr ProtocolVersion kErrorLogVersion{3, 1, 2};         // errorlog upload (7.12)

// "3.1.2", "3.1" (patch 0), "Ver 2.0.22-20161201" (a "Ver" prefix and a "-build" suffix are
// ignored). Numbers are compared as numbers: 3.10.0 > 3.9.0.
Result<ProtocolVersion> parse_protocol_version(std::string_view text);
// -1, 0, 1 comparing dotted numeric versions of any length ("3.1" == "3.1.0"); text that is not
// a version sorts before any version.
int compare_versions(std::string_view a, std::string_view b) noexcept;
// The lower of the device's pushver and the server's PushProtVer. A side that sends nothing, or
// something that is not a version, counts as 3.0.1.
ProtocolVersion negotiate_protocol_version(std::optional<std::string_view> device_pushver,
                                           std::optional<std::string_view> server_pushprotver);
bool has_encryption_exchange(const ProtocolVersion& v) noexcept;
bool has_errorlog(const ProtocolVersion& v) noexcept;

}  // namespace zkpush::protocol
