#include "protocol/base64.hpp"

#include <openssl/evp.h>

namespace zkpush::protocol {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  if (bytes.empty()) return out;
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean.push_back(c);
  }
  // '=' may only pad the end.
  std::size_t first_pad = clean.find('=');
  if (first_pad != std::string::npos) {
    if (clean.find_first_not_of('=', first_pad) != std::string::npos || clean.size() - first_pad > 2)
      return std::nullopt;
    clean.resize(first_pad);
  }
  if (clean.size() % 4 == 1) return std::nullopt;
  std::size_t pad = (4 - clean.size() % 4) % 4;
  clean.append(pad, '=');
  if (clean.empty()) return std::string();
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace zkpush::protocol
