// Small string helpers shared by every parser and formatter of the protocol core.
//
// Device bodies are bytes, not ASCII: nothing here assumes a character set beyond the ASCII
// separators of the protocol (HT, LF, CR, NUL, '=', ',', '&').
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkpush::protocol::text {

// ASCII case-insensitive comparison (keys vary in case between firmware and the manual).
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

// Strips ASCII spaces and tabs (and, for trim_line, CR, LF and NUL) from both ends.
std::string_view trim(std::string_view s) noexcept;
std::string_view trim_line(std::string_view s) noexcept;

// Splits a body into lines on LF; each line loses trailing CR and NUL bytes (firmware ends records
// with CR LF, LF, or LF plus NUL). Lines that are empty after that are dropped when skip_empty.
std::vector<std::string_view> split_lines(std::string_view body, bool skip_empty = true);

// Plain split on one separator character, keeping empty pieces.
std::vector<std::string_view> split(std::string_view s, char sep);

// Strict decimal integer parsing of the whole string (after trimming spaces); no exceptions.
std::optional<std::int64_t> parse_int(std::string_view s) noexcept;
std::optional<std::uint64_t> parse_uint(std::string_view s) noexcept;
// Value of one hexadecimal digit (either case), or -1.
int hex_digit(char c) noexcept;
// "'<s>'" cut to 80 bytes and made valid UTF-8: how error messages quote what they got.
std::string quoted(std::string_view s);
// Untrusted bytes made safe for one line of a log or an error message: printable ASCII stays,
// backslash and both quotes get a backslash, HT/LF/CR become \t \n \r, every other control byte
// and every byte >= 0x80 (UTF-8 or not) becomes \xNN. The result is printable ASCII only. At most
// `max` input bytes are rendered; a longer input ends in "...(N bytes)" with its full length N.
std::string printable(std::string_view s, std::size_t max = 80);

// Parses hexadecimal digits (no 0x prefix) into bytes; nullopt on odd length or a non-hex digit.
std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view s);
std::string to_hex(const std::uint8_t* data, std::size_t size, bool upper = false);

// Percent-decoding for query strings ('%41' -> 'A'); '+' is kept as is because devices never
// encode spaces that way. Malformed escapes are kept literally.
std::string percent_decode(std::string_view s);
// Percent-encodes bytes that cannot appear in a query value ('&', '=', '%', space, controls...).
std::string percent_encode(std::string_view s);

// True when the bytes are well-formed UTF-8.
bool is_valid_utf8(std::string_view s) noexcept;
// Replaces every ill-formed UTF-8 sequence with U+FFFD, so the result can go into JSON.
std::string sanitize_utf8(std::string_view s);

std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace zkpush::protocol::text
