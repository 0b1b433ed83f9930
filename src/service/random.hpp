// Secrets the server hands out (RegistryCode, SessionID): hex of bytes from OpenSSL's CSPRNG.
#pragma once

#include <cstddef>
#include <string>

namespace zkpush::service {

// 2 * bytes lower-case hex digits. Throws std::runtime_error if the CSPRNG fails.
std::string random_hex(std::size_t bytes);

}  // namespace zkpush::service
