#include "protocol/codecs_session.hpp"

#include <openssl/evp.h>

#include <algorithm>

#include "protocol/text.hpp"

namespace zkpush::protocol {

// ---- token ----------------------------------------------------------------------------------------------

std::string md5_hex(std::string_view bytes, bool upper_case) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr) != 1) return {};
  return text::to_hex(digest, size, upper_case);
}

std::string compute_token(std::string_view registry_code, std::string_view serial_number, std::string_view session_id) {
  std::string joined;
  joined.reserve(registry_code.size() + serial_number.size() + session_id.size());
  joined.append(registry_code).append(serial_number).append(session_id);
  return md5_hex(joined);
}

bool token_matches(std::string_view given, std::string_view expected) noexcept {
  if (given.size() != expected.size() || expected.empty()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) {
    auto lower = [](char c) { return static_cast<unsigned char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c); };
    diff |= static_cast<unsigned>(lower(given[i]) ^ lower(expected[i]));
  }
  return diff == 0;
}

std::vector<TokenVariant> token_variants(std::string_view registry_code, std::string_view serial_number,
                                         std::string_view session_id) {
  struct Part {
    std::string_view name, value;
  };
  const Part r{"RegistryCode", registry_code}, s{"SN", serial_number}, i{"SessionID", session_id};
  const std::vector<std::vector<Part>> orders = {
      {r, s, i}, {r, i, s}, {s, r, i}, {s, i, r}, {i, r, s}, {i, s, r},  // every order of the three
      {r, s},    {s, r},                                                // before push config: no SessionID
      {s, i},    {i, s},                                                // before registration: no RegistryCode
  };
  std::vector<TokenVariant> out;
  for (bool upper : {false, true}) {
    for (const auto& parts : orders) {
      std::string name, joined;
      for (const Part& p : parts) {
        if (!name.empty()) name += "+";
        name += p.name;
        joined += p.value;
      }
      name += upper ? ", upper-case hex" : ", lower-case hex";
      out.push_back({std::move(name), md5_hex(joined, upper)});
    }
  }
  return out;
}

std::optional<std::string> diagnose_token(std::string_view given, std::string_view registry_code,
                                          std::string_view serial_number, std::string_view session_id) {
  std::string_view g = text::trim(given);
  for (auto& v : token_variants(registry_code, serial_number, session_id))
    if (!v.token.empty() && v.token == g) return std::move(v.name);
  return std::nullopt;
}

// ---- Cookie header ----------------------------------------------------------------------------------

namespace {
bool is_hex_token(std::string_view s) noexcept {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string_view unquote(std::string_view s) noexcept {
  s = text::trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}
}  // namespace

std::optional<CookieToken> parse_cookie_token(std::string_view header_value) {
  std::optional<CookieToken> named, bare;
  std::string timestamp;
  std::size_t start = 0;
  while (start <= header_value.size()) {
    std::size_t end = header_value.find_first_of(";,", start);
    if (end == std::string_view::npos) end = header_value.size();
    std::string_view piece = text::trim(header_value.substr(start, end - start));
    std::size_t eq = piece.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = text::trim(piece.substr(0, eq));
      std::string_view value = unquote(piece.substr(eq + 1));
      if (text::iequals(key, "token") && !named && !value.empty()) named = CookieToken{std::string(value), {}, false};
      if (text::iequals(key, "timestamp") && timestamp.empty()) timestamp = std::string(value);
    } else if (!bare && is_hex_token(piece)) {
      bare = CookieToken{std::string(piece), {}, true};
    }
    if (end == header_value.size()) break;
    start = end + 1;
  }
  std::optional<CookieToken> found = named ? named : bare;
  if (found) found->timestamp = std::move(timestamp);
  return found;
}

// ---- protocol version -------------------------------------------------------------------------------

std::string ProtocolVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

namespace {
// The dotted numbers of a version text, after dropping a "Ver" prefix and a "-suffix".
std::optional<std::vector<long long>> version_numbers(std::string_view text) {
  std::string_view s = text::trim(text);
  if (text::istarts_with(s, "ver")) s = text::trim(s.substr(3));
  if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) s.remove_prefix(1);
  s = s.substr(0, std::min(s.find('-'), s.size()));
  s = text::trim(s);
  if (s.empty()) return std::nullopt;
  std::vector<long long> numbers;
  for (std::string_view piece : text::split(s, '.')) {
    if (piece.empty() || piece.size() > 9 || piece.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    long long n = 0;
    for (char c : piece) n = n * 10 + (c - '0');
    numbers.push_back(n);
    if (numbers.size() > 8) return std::nullopt;
  }
  return numbers;
}
}  // namespace

std::vector<int> parse_trans_times(std::string_view text) {
  std::string t;
  for (char c : text) {
    if (c != ' ' && c != '\t') t += c;
  }
  const auto digit = [&](std::size_t i) { return i < t.size() && t[i] >= '0' && t[i] <= '9'; };
  std::vector<int> times;
  std::size_t i = 0;
  while (i < t.size()) {
    if (!digit(i)) {
      ++i;
      continue;
    }
    // An hour of one or two digits, ':', a minute of exactly two: reading no further than that
    // is what separates the manual's run-together "00:0014:00".
    std::size_t j = i;
    while (digit(j) && j - i < 2) ++j;
    if (j >= t.size() || t[j] != ':' || !digit(j + 1) || !digit(j + 2)) {
      i = j;
      continue;
    }
    const int hour = std::stoi(t.substr(i, j - i));
    const int minute = (t[j + 1] - '0') * 10 + (t[j + 2] - '0');
    if (hour < 24 && minute < 60) times.push_back(hour * 60 + minute);
    i = j + 3;
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  if (times.size() > 10) times.resize(10);
  return times;
}

std::optional<int> minutes_until_next(const std::vector<int>& times, int minute_of_day) {
  if (times.empty()) return std::nullopt;
  for (int m : times) {
    if (m > minute_of_day) return m - minute_of_day;
  }
  return times.front() + 24 * 60 - minute_of_day;
}

Result<ProtocolVersion> parse_protocol_version(std::string_view text) {
  auto numbers = version_numbers(text);
  if (!numbers || numbers->size() > 3)
    return make_error(Errc::malformed, "expected a version such as 3.1.2", "'" + text::sanitize_utf8(text.substr(0, 40)) + "'");
  ProtocolVersion v{0, 0, 0};
  int* parts[3] = {&v.major, &v.minor, &v.patch};
  for (std::size_t i = 0; i < numbers->size(); ++i) *parts[i] = static_cast<int>((*numbers)[i]);
  return v;
}

int compare_versions(std::string_view a, std::string_view b) noexcept {
  try {
    auto x = version_numbers(a), y = version_numbers(b);
    if (!x || !y) return x ? 1 : (y ? -1 : 0);
    const std::size_t n = std::max(x->size(), y->size());
    for (std::size_t i = 0; i < n; ++i) {
      const long long p = i < x->size() ? (*x)[i] : 0, q = i < y->size() ? (*y)[i] : 0;
      if (p != q) return p < q ? -1 : 1;
    }
    return 0;
  } catch (...) {  // allocation failure only
    return 0;
  }
}

ProtocolVersion negotiate_protocol_version(std::optional<std::string_view> device_pushver,
                                           std::optional<std::string_view> server_pushprotver) {
  auto side = [](std::optional<std::string_view> text) {
    if (!text) return kDefaultProtocolVersion;
    auto v = parse_protocol_version(*text);
    return v ? *v : kDefaultProtocolVersion;
  };
  return std::min(side(device_pushver), side(server_pushprotver));
}

bool has_encryption_exchange(const ProtocolVersion& v) noexcept { return v >= kEncryptionVersion; }
bool has_errorlog(const ProtocolVersion& v) noexcept { return v >= kErrorLogVersion; }

}  // namespace zkpush::protocol
