// Card numbers (user.CardNo, rtlog/transaction cardno) and the fingerprint marks of templatev10.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace zkpush::protocol {

// ---- card numbers ------------------------------------------------------------------------------------

// How a card number was written:
//   decimal      "123456789"
//   bracket_hex  "[15CD5B07]": the bytes of the number, least significant first, in brackets
//   none         empty value (no card)
enum class CardForm { none, decimal, bracket_hex };
const char* card_form_name(CardForm form) noexcept;  // "none", "decimal", "bracket_hex"

struct CardNumber {
  std::uint64_t value = 0;
  CardForm form = CardForm::none;

  bool operator==(const CardNumber&) const = default;
};

// Both forms; hex digits in either case, spaces anywhere, 1-8 bytes (more only if the extra
// most significant bytes are zero). Bare hex without brackets is not a card number.
Result<CardNumber> parse_card_number(std::string_view text);
// decimal: "123456789"; bracket_hex: at least 4 bytes, upper case as in the manual's example
// ("[15CD5B07]"); none: "".
std::string format_card_number(std::uint64_t value, CardForm form = CardForm::decimal);

// ---- templatev10 fingerprint marks (7.7, 9.1.1) --------------------------------------------------------

// On upload a duress fingerprint has fingerid = finger + 16 and valid 1 (the device changes its
// stored 3 to 1); in DATA UPDATE the finger keeps its number and Valid=3 marks duress.
struct FingerUploadMark {
  int fingerid = 0;
  int valid = 1;
};
// Emulator side: what a device uploads for a stored template (stored_valid 0, 1 or 3).
FingerUploadMark templatev10_upload_mark(int finger, int stored_valid) noexcept;

struct FingerMark {
  int finger = 0;       // 0-9
  bool duress = false;
  int update_valid = 1;  // the Valid to send back in DATA UPDATE: 0, 1, or 3 for duress
};
// Server side: the meaning of an uploaded fingerid/valid pair. valid=3 from firmware that did not
// convert it also counts as duress.
FingerMark templatev10_from_upload(int fingerid, int valid) noexcept;

}  // namespace zkpush::protocol
