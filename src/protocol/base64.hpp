// Base64 (RFC 4648, standard alphabet, with padding) for templates, photos and ACCOUNT archives.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zkpush::protocol {

std::string base64_encode(std::string_view bytes);
// Whitespace (CR, LF, SP, HT) inside the text is ignored, as some firmware wraps long values;
// missing padding is tolerated. nullopt on any other non-alphabet character.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace zkpush::protocol
