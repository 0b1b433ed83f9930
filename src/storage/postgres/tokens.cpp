#include "storage/postgres/tokens.hpp"

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace {

constexpr const char* kColumns = "SELECT id, name, role, hash, created_at, revoked_at FROM api_tokens ";

}  // namespace

std::vector<ApiToken> Tokens::all() {
  std::vector<ApiToken> out;
  auto st = c_.prepare(std::string(kColumns) + "ORDER BY id");
  while (st.step()) out.push_back(rows::read_token(st));
  return out;
}

std::optional<ApiToken> Tokens::get(std::int64_t id) {
  auto st = c_.prepare(std::string(kColumns) + "WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_token(st);
}

std::int64_t Tokens::insert(const ApiToken& t) {
  auto st = c_.prepare(
      "INSERT INTO api_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING RETURNING id");
  st.bind(1, t.name).bind(2, t.role).bind(3, t.hash).bind(4, t.created_at);
  if (!st.step()) throw Refused(StoreError::Reason::conflict, "that token exists");
  return st.column_int(0);
}

bool Tokens::revoke(std::int64_t id, std::int64_t now) {
  auto st = c_.prepare("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0");
  st.bind(1, id).bind(2, now);
  st.run();
  return c_.changes() > 0;
}

}  // namespace zkpush::storage::postgres
