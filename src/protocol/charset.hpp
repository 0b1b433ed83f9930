// Character sets of user names and other free text.
//
// The manual says UTF-8 everywhere (1.2) but also that Chinese-language devices send names in
// GB2312 (7.5, 9.1.1); older firmware does so too (field notes). GB18030 is a superset of GB2312
// and GBK, so decoding as GB18030 reads all three. Conversion is in memory (glibc iconv).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zkpush::protocol {

inline constexpr int kLanguageSimplifiedChinese = 83;  // Appendix 4

// Strict conversions: nullopt when the input is not valid in the source character set, or (for
// the GB targets) a character has no code in the target.
std::optional<std::string> gb18030_to_utf8(std::string_view bytes);
enum class GbCharset { gb2312, gbk, gb18030 };
std::optional<std::string> utf8_to_gb(std::string_view utf8, GbCharset target = GbCharset::gb18030);

// GB18030 to UTF-8 where every undecodable byte (or truncated sequence at the end) becomes U+FFFD.
std::string gb18030_to_utf8_lenient(std::string_view bytes);

// Whether a device of this Appendix 4 language is expected to write names in GB2312.
bool device_uses_gb_text(int device_language) noexcept;

// Text from a device, as UTF-8 that is always valid:
//   valid UTF-8                              kept as is (whatever the language)
//   otherwise, language 83                   read as GB18030 (undecodable bytes -> U+FFFD)
//   otherwise                                ill-formed sequences -> U+FFFD
std::string text_to_utf8(std::string_view bytes, int device_language);

// Text for a device: UTF-8 unless `gb_for_chinese` is set and the device language is 83, then
// GB18030 (which is GB2312 for every character GB2312 has). Invalid UTF-8 input is sanitized first.
std::string text_for_device(std::string_view utf8, int device_language, bool gb_for_chinese);

}  // namespace zkpush::protocol
