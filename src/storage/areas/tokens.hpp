// Area: API tokens. Only a token's SHA-256 is kept (hex): the token itself is shown once, when it is
// made, and cannot be read back from the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::storage {

struct ApiToken {
  std::int64_t id = 0;
  std::string name;
  std::string role;  // "admin" | "operator" | "viewer"
  std::string hash;  // SHA-256 of the token, lower-case hex
  std::int64_t created_at = 0;
  std::int64_t revoked_at = 0;  // 0: in force
  bool operator==(const ApiToken&) const = default;
};

class TokenReads {
 public:
  virtual ~TokenReads() = default;
  // Every token, revoked ones included, by id.
  virtual std::vector<ApiToken> all() = 0;
  virtual std::optional<ApiToken> get(std::int64_t id) = 0;
};

class TokenWrites : public TokenReads {
 public:
  // The new token's id. A hash already stored is refused (Refused, conflict).
  virtual std::int64_t insert(const ApiToken& token) = 0;
  // Whether a token in force was revoked.
  virtual bool revoke(std::int64_t id, std::int64_t now) = 0;
};

}  // namespace zkpush::storage
