#include "protocol/codecs_card.hpp"

#include "protocol/text.hpp"

namespace zkpush::protocol {

using text::hex_digit;
using text::quoted;

const char* card_form_name(CardForm form) noexcept {
  switch (form) {
    case CardForm::none: return "none";
    case CardForm::decimal: return "decimal";
    case CardForm::bracket_hex: return "bracket_hex";
  }
  return "none";
}

Result<CardNumber> parse_card_number(std::string_view text) {
  std::string_view s = text::trim(text);
  if (s.empty()) return CardNumber{};
  if (s.front() == '[') {
    if (s.size() < 2 || s.back() != ']') return make_error(Errc::malformed, "card number opens '[' without ']'", quoted(text));
    std::string digits;
    for (char c : s.substr(1, s.size() - 2)) {
      if (c == ' ' || c == '\t') continue;
      if (hex_digit(c) < 0) return make_error(Errc::malformed, "bracketed card number holds hex bytes", quoted(text));
      digits.push_back(c);
    }
    if (digits.empty() || digits.size() % 2 != 0)
      return make_error(Errc::malformed, "bracketed card number needs whole bytes", quoted(text));
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < digits.size() / 2; ++i) {
      const int byte_value = hex_digit(digits[2 * i]) * 16 + hex_digit(digits[2 * i + 1]);  // 0 to 255
      const auto byte = static_cast<std::uint64_t>(byte_value);
      if (i >= 8) {
        if (byte != 0) return make_error(Errc::too_large, "card number longer than 8 bytes", quoted(text));
        continue;
      }
      value |= byte << (8 * i);
    }
    return CardNumber{value, CardForm::bracket_hex};
  }
  auto v = text::parse_uint(s);
  if (!v) return make_error(Errc::malformed, "card number is decimal or [hex bytes]", quoted(text));
  return CardNumber{*v, CardForm::decimal};
}

std::string format_card_number(std::uint64_t value, CardForm form) {
  switch (form) {
    case CardForm::none: return {};
    case CardForm::decimal: return std::to_string(value);
    case CardForm::bracket_hex: {
      std::uint8_t bytes[8];
      std::size_t n = 0;
      for (std::uint64_t v = value; n < 4 || v != 0; v >>= 8) bytes[n++] = static_cast<std::uint8_t>(v & 0xFF);
      return "[" + text::to_hex(bytes, n, true) + "]";
    }
  }
  return {};
}

FingerUploadMark templatev10_upload_mark(int finger, int stored_valid) noexcept {
  // Only fingers 0-15 can take the +16 mark without colliding with another finger number.
  if (stored_valid == 3) return FingerUploadMark{finger >= 0 && finger < 16 ? finger + 16 : finger, 1};
  return FingerUploadMark{finger, stored_valid};
}

FingerMark templatev10_from_upload(int fingerid, int valid) noexcept {
  FingerMark m;
  m.duress = fingerid >= 16 || valid == 3;
  m.finger = fingerid >= 16 ? fingerid - 16 : fingerid;
  m.update_valid = m.duress ? 3 : valid;
  return m;
}

}  // namespace zkpush::protocol
