#include "protocol/codecs_bitmaps.hpp"

#include <algorithm>
#include <limits>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using text::hex_digit;
using text::quoted;

namespace {

// Far above anything a device sends (EventTypes is 32 bytes, New*EventTypes at most 256); keeps
// a hostile value from producing millions of codes.
constexpr std::size_t kMaxBitmapBytes = 1024;
constexpr std::size_t kMaxListEntries = 256;

// Hex text to bytes, tolerating spaces anywhere and an odd trailing digit (dropped): the manual's
// own EventTypes examples are 66 and 62 digits long.
Result<std::vector<std::uint8_t>> lenient_hex_bytes(std::string_view text) {
  std::vector<int> digits;
  for (char c : text) {
    if (c == ' ' || c == '\t') continue;
    int v = hex_digit(c);
    if (v < 0) return make_error(Errc::malformed, "not a hexadecimal digit in bitmap", quoted(text));
    digits.push_back(v);
    if (digits.size() > kMaxBitmapBytes * 2) return make_error(Errc::too_large, "bitmap too long", quoted(text));
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(digits.size() / 2);
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    bytes.push_back(static_cast<std::uint8_t>(digits[i] * 16 + digits[i + 1]));
  return bytes;
}

// Bit k of the bitmap, LSB-first inside each byte (EventTypes, New*EventTypes).
std::vector<int> lsb_first_bits(const std::vector<std::uint8_t>& bytes, int base) {
  std::vector<int> out;
  for (std::size_t j = 0; j < bytes.size(); ++j)
    for (int i = 0; i < 8; ++i) {
      const long long code = static_cast<long long>(base) + static_cast<long long>(j) * 8 + i;
      if ((bytes[j] & (1u << i)) && code <= std::numeric_limits<int>::max()) out.push_back(static_cast<int>(code));
    }
  return out;
}

}  // namespace

// ---- EventTypes / VerifyStyles / New*EventTypes ------------------------------------------------------

Result<std::vector<int>> decode_event_types(std::string_view hex) {
  auto bytes = lenient_hex_bytes(hex);
  if (!bytes) return bytes.error();
  return lsb_first_bits(*bytes, 0);
}

Result<std::string> encode_event_types(std::span<const int> codes) {
  std::uint8_t bytes[32] = {};
  for (int code : codes) {
    if (code < 0 || code > 255) return make_error(Errc::bad_value, "EventTypes holds events 0-255", std::to_string(code));
    bytes[code / 8] = static_cast<std::uint8_t>(bytes[code / 8] | (1u << (code % 8)));
  }
  return text::to_hex(bytes, sizeof bytes, true);
}

Result<std::vector<int>> decode_verify_styles(std::string_view hex) {
  auto bytes = lenient_hex_bytes(hex);
  if (!bytes) return bytes.error();
  std::vector<int> out;
  for (std::size_t j = 0; j < bytes->size(); ++j)
    for (int i = 0; i < 8; ++i)
      if ((*bytes)[j] & (0x80u >> i)) out.push_back(static_cast<int>(j) * 8 + i);
  return out;
}

Result<std::string> encode_verify_styles(std::span<const int> codes, bool upper_case) {
  std::uint8_t bytes[4] = {};
  for (int code : codes) {
    if (code < 0 || code > 31) return make_error(Errc::bad_value, "VerifyStyles holds modes 0-31", std::to_string(code));
    bytes[code / 8] = static_cast<std::uint8_t>(bytes[code / 8] | (0x80u >> (code % 8)));
  }
  return text::to_hex(bytes, sizeof bytes, upper_case);
}

int extended_event_base(std::string_view parameter) noexcept {
  if (!parameter.empty() && parameter.front() == '~') parameter.remove_prefix(1);
  if (text::iequals(parameter, "NewNormalEventTypes")) return 4000;
  if (text::iequals(parameter, "NewErrorEventTypes")) return 5000;
  if (text::iequals(parameter, "NewWarningEventTypes")) return 6000;
  return 0;
}

Result<std::vector<int>> decode_extended_event_types(std::string_view hex, int base) {
  auto bytes = lenient_hex_bytes(hex);
  if (!bytes) return bytes.error();
  return lsb_first_bits(*bytes, base);
}

Result<std::string> encode_extended_event_types(std::span<const int> codes, int base) {
  constexpr int kMaxOffset = 256 * 8 - 1;
  std::vector<std::uint8_t> bytes(1, 0);
  for (int code : codes) {
    const long long offset = static_cast<long long>(code) - base;
    if (offset < 0 || offset > kMaxOffset)
      return make_error(Errc::bad_value, "event outside the range of this bitmap", std::to_string(code));
    const auto k = static_cast<std::size_t>(offset);
    if (bytes.size() <= k / 8) bytes.resize(k / 8 + 1, 0);
    bytes[k / 8] = static_cast<std::uint8_t>(bytes[k / 8] | (1u << (k % 8)));
  }
  return text::to_hex(bytes.data(), bytes.size(), true);
}

// ---- 0/1 function lists ----------------------------------------------------------------------------

Result<std::string> parse_function_list(std::string_view text) {
  std::string_view s = text::trim(text);
  if (s.find_first_not_of("01") != std::string_view::npos)
    return make_error(Errc::malformed, "a function list holds only '0' and '1'", quoted(text));
  return std::string(s);
}

bool function_supported(std::string_view list, std::size_t position) noexcept {
  return position < list.size() && list[position] == '1';
}

std::vector<std::size_t> supported_positions(std::string_view list) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i] == '1') out.push_back(i);
  return out;
}

std::string set_function(std::string_view list, std::size_t position, bool supported) {
  std::string out(list);
  if (out.size() <= position) out.resize(position + 1, '0');
  out[position] = supported ? '1' : '0';
  return out;
}

std::vector<NamedCode> supported_functions(std::string_view list, std::string_view enum_id) {
  std::vector<NamedCode> out;
  for (std::size_t pos : supported_positions(list)) {
    const EnumEntry* e = find_enum_entry(enum_id, std::to_string(pos));
    out.push_back({static_cast<std::int64_t>(pos), e ? e->name : std::string_view{}});
  }
  return out;
}

// ---- NewVFStyles / VERIFY_TYPE ----------------------------------------------------------------------

Result<std::uint16_t> parse_vf_bits(std::string_view text) {
  std::string_view s = text::trim(text);
  if (s.empty() || s.size() > 16 || s.find_first_not_of("01") != std::string_view::npos)
    return make_error(Errc::malformed, "a verification bit string is 1-16 characters of '0'/'1'", quoted(text));
  std::uint16_t bits = 0;
  for (char c : s) bits = static_cast<std::uint16_t>((bits << 1) | (c == '1' ? 1 : 0));
  return bits;
}

std::string format_vf_bits(std::uint16_t bits) {
  std::string out(16, '0');
  for (int b = 0; b < 16; ++b)
    if (bits & (1u << b)) out[static_cast<std::size_t>(15 - b)] = '1';
  return out;
}

bool looks_like_vf_bits(std::string_view text) noexcept {
  std::string_view s = text::trim(text);
  return s.size() >= 4 && s.size() <= 16 && s.find_first_not_of("01") == std::string_view::npos;
}

std::vector<int> vf_methods(std::uint16_t bits) {
  std::vector<int> out;
  for (int b = 1; b < 16; ++b)
    if (bits & (1u << b)) out.push_back(b);
  return out;
}

bool vf_and_logic(std::uint16_t bits) noexcept { return (bits & 1u) != 0; }

std::uint16_t make_vf_bits(std::span<const int> methods, bool and_logic) {
  unsigned bits = and_logic ? 1u : 0u;
  for (int m : methods)
    if (m >= 1 && m <= 15) bits |= 1u << m;
  return static_cast<std::uint16_t>(bits);
}

std::string_view vf_bit_name(int bit) noexcept {
  if (bit < 0 || bit > 15) return {};
  // The table's names are "VF_STYLE_NONE / VF_TYPE_LOGIC", "FACE", ...
  static const std::string_view kCodes[16] = {"0", "1", "2", "3", "4", "5", "6", "7",
                                              "8", "9", "10", "11", "12", "13", "14", "15"};
  const EnumEntry* e = find_enum_entry("new_vf_styles", kCodes[bit]);
  return e ? e->name : std::string_view{};
}

// ---- MultiBio* ----------------------------------------------------------------------------------------

Result<std::vector<std::int64_t>> parse_multibio_list(std::string_view text) {
  std::vector<std::int64_t> out;
  std::string_view s = text::trim(text);
  if (s.empty()) return out;
  for (std::string_view piece : text::split(s, ':')) {
    if (out.size() >= kMaxListEntries) return make_error(Errc::too_large, "too many entries in a MultiBio list", quoted(text));
    piece = text::trim(piece);
    if (piece.empty()) {
      out.push_back(0);
      continue;
    }
    auto v = text::parse_int(piece);
    if (!v) return make_error(Errc::malformed, "a MultiBio entry is a decimal number", quoted(text));
    out.push_back(*v);
  }
  return out;
}

std::int64_t multibio_at(std::span<const std::int64_t> list, std::size_t type) noexcept {
  return type < list.size() ? list[type] : 0;
}

std::string format_multibio_list(std::span<const std::int64_t> list, std::size_t min_entries) {
  std::string out;
  const std::size_t n = std::max(list.size(), min_entries);
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out += std::to_string(multibio_at(list, i));
  }
  return out;
}

std::vector<std::int64_t> multibio_effective(std::span<const std::int64_t> device, std::span<const std::int64_t> server) {
  std::vector<std::int64_t> out(std::max(device.size(), server.size()), 0);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = (multibio_at(device, i) != 0 && multibio_at(server, i) != 0) ? 1 : 0;
  return out;
}

std::vector<int> multibio_types(std::span<const std::int64_t> list) {
  std::vector<int> out;
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i] != 0) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace zkpush::protocol
