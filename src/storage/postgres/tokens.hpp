// API tokens (storage/areas/tokens.hpp) in the api_tokens table.
#pragma once

#include "storage/areas/tokens.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Tokens final : public TokenWrites {
 public:
  explicit Tokens(Connection& c) : c_(c) {}
  std::vector<ApiToken> all() override;
  std::optional<ApiToken> get(std::int64_t id) override;
  std::int64_t insert(const ApiToken& token) override;
  bool revoke(std::int64_t id, std::int64_t now) override;

 private:
  Connection& c_;
};

}  // namespace zkpush::storage::postgres
