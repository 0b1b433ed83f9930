#include "storage/event_digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace zkpush::storage {

namespace {

std::string sha256(const std::string& bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &size, EVP_sha256(), nullptr) != 1 || size != 32)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(out), size);
}

void put(std::string& out, const std::optional<std::int64_t>& v) {
  out += '\x1f';
  if (v) out += std::to_string(*v);
}

void put(std::string& out, const std::string& s) {
  out += '\x1f';
  out += s;
}

}  // namespace

std::string event_digest(const NewEvent& e) {
  if (!e.raw.empty()) return sha256(e.raw);
  // RS first: no record as received starts with it, so the two kinds of input never meet.
  std::string fields = "\x1e" "fields";
  put(fields, e.time_local);
  put(fields, e.pin);
  put(fields, e.cardno);
  put(fields, e.event);
  put(fields, e.door);
  put(fields, e.inout);
  put(fields, e.verifytype);
  put(fields, e.alarm_type);
  return sha256(fields);
}

}  // namespace zkpush::storage
