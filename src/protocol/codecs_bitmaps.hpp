// Capability bitmaps and lists a device reports at registration (4.4) or in GET OPTIONS (9.5.2),
// and the verification bit strings of the new verification methods.
//
// The manual uses four different bit orders; each decoder below names its own:
//   EventTypes             hex, byte j bit i counted from the least significant = event 8j+i
//   VerifyStyles           hex, bits counted from the MOST significant bit of each byte = Appendix 3 code
//   New*EventTypes         hex, like EventTypes, offsets from 4000 / 5000 / 6000
//   NewVFStyles, VERIFY_TYPE   "0"/"1" text, the rightmost character is bit 0
//   AccSupportFunList, QRCodeDecryptFunList   "0"/"1" text, the leftmost character is position 0
//   MultiBio*              colon lists, entry n = Appendix 18 biometric type n
// Decoders are lenient about lengths (the manual's own examples are too long or too short) and
// strict about characters: a non-hex digit or a non-binary character is an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

// ---- EventTypes / VerifyStyles / New*EventTypes ------------------------------------------------------

// Supported event codes, ascending. Spaces are ignored; an odd trailing hex digit is ignored.
Result<std::vector<int>> decode_event_types(std::string_view hex);
// 32 bytes (64 upper-case hex digits). Codes must be 0-255.
Result<std::string> encode_event_types(std::span<const int> codes);

// Supported Appendix 3 codes (positions 0-31 of 8 hex digits), ascending.
Result<std::vector<int>> decode_verify_styles(std::string_view hex);
// 4 bytes, 8 hex digits; codes must be 0-31 (200 "other" has no bit). Lower case by default, as
// devices send it (4.4 example ff7f0000).
Result<std::string> encode_verify_styles(std::span<const int> codes, bool upper_case = false);

// 4000, 5000 or 6000 for NewNormalEventTypes / NewErrorEventTypes / NewWarningEventTypes (any
// case, leading '~' ignored); 0 for any other name.
int extended_event_base(std::string_view parameter) noexcept;
// Supported event codes (base + offset), ascending.
Result<std::vector<int>> decode_extended_event_types(std::string_view hex, int base);
// As few bytes as the highest offset needs ("2B12" for offsets 0,1,3,5,9,12), "00" when empty.
// Offsets must be 0-2047 (the manual's limit of 256 bytes).
Result<std::string> encode_extended_event_types(std::span<const int> codes, int base);

// ---- 0/1 function lists (AccSupportFunList, QRCodeDecryptFunList) ------------------------------------

// Position numbers of AccSupportFunList the server logic depends on.
inline constexpr std::size_t kFunMultiCardUser = 7;          // mulcarduser instead of user.CardNo
inline constexpr std::size_t kFunAccountCommand = 11;        // ACCOUNT command
inline constexpr std::size_t kFunOneDoorAuthorize = 15;      // userauthorize.AuthorizeDoorId = one door
inline constexpr std::size_t kFunTimeRuleValidity = 60;      // timezone StartTime/EndTime
inline constexpr std::size_t kFunAuthorizeValidity = 62;     // userauthorize StartTime/EndTime

// Trims spaces; every character must be '0' or '1'.
Result<std::string> parse_function_list(std::string_view text);
// '1' at the position; absent or short lists mean "not supported".
bool function_supported(std::string_view list, std::size_t position) noexcept;
std::vector<std::size_t> supported_positions(std::string_view list);
// The list with one position set or cleared (padded with '0' as needed).
std::string set_function(std::string_view list, std::size_t position, bool supported);

struct NamedCode {
  std::int64_t code = 0;
  std::string_view name;  // "" when the catalogue has no name for it
};
// Supported positions with their names from an enums.hpp table ("acc_support_fun_list",
// "qrcode_decrypt_fun_list").
std::vector<NamedCode> supported_functions(std::string_view list, std::string_view enum_id);

// ---- NewVFStyles / VERIFY_TYPE bit strings ----------------------------------------------------------

// Bits of the new verification methods (enums.yaml new_vf_styles).
enum VfBit : int {
  vf_logic = 0,  // VERIFY_TYPE: 1 = all methods required (AND), 0 = any (OR); NewVFStyles: unused
  vf_face = 1,
  vf_palm_print = 2,
  vf_palm_vein = 3,
  vf_fingerprint = 4,
  vf_finger_vein = 5,
  vf_voice_print = 6,
  vf_iris = 7,
  vf_retina = 8,
  vf_password = 9,
  vf_user_id = 10,
  vf_card = 11,
  vf_qr_code = 12,
};

// 1-16 characters of '0'/'1' (spaces trimmed), right-aligned: the rightmost character is bit 0.
Result<std::uint16_t> parse_vf_bits(std::string_view text);
std::string format_vf_bits(std::uint16_t bits);  // always 16 characters
// True for text that can only be a bit string: 4-16 characters, all '0'/'1'. Appendix 3 codes
// have at most 3 digits, so "verifytype=10" stays code 10.
bool looks_like_vf_bits(std::string_view text) noexcept;
// Bits 1-15 that are set (the methods), ascending.
std::vector<int> vf_methods(std::uint16_t bits);
bool vf_and_logic(std::uint16_t bits) noexcept;
std::uint16_t make_vf_bits(std::span<const int> methods, bool and_logic = false);
// Catalogue name of a bit ("FACE", "RF"...); "" beyond the defined bits.
std::string_view vf_bit_name(int bit) noexcept;

// ---- MultiBio* colon lists (3.1, 4.4, Appendix 18) ----------------------------------------------------

inline constexpr std::size_t kBiometricTypeCount = 11;  // Appendix 18 types 0-10

// "0:1:0:0:0:0:0:0:1:0" or "0: 10: 0: 7"; an empty entry counts as 0. Entry n = biometric type n.
Result<std::vector<std::int64_t>> parse_multibio_list(std::string_view text);
// The entry of a type; 0 for an entry the list does not have.
std::int64_t multibio_at(std::span<const std::int64_t> list, std::size_t type) noexcept;
// Colon-joined, padded with 0 up to min_entries.
std::string format_multibio_list(std::span<const std::int64_t> list, std::size_t min_entries = kBiometricTypeCount);
// What both sides support (3.1): 1 where both lists are non-zero, else 0; as long as the longer.
std::vector<std::int64_t> multibio_effective(std::span<const std::int64_t> device,
                                             std::span<const std::int64_t> server);
// Types whose entry is non-zero, ascending.
std::vector<int> multibio_types(std::span<const std::int64_t> list);

}  // namespace zkpush::protocol
