#include "service/tokens.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "service/random.hpp"

namespace zkpush::service {

using Reason = storage::StoreError::Reason;

std::string token_hash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

storage::StoreStatus Tokens::load() {
  std::uint64_t before = 0;
  {
    std::lock_guard lock(mutex_);
    before = changes_;
  }
  auto all = store_.read_now([](storage::Reads& r) { return r.tokens().all(); });
  if (!all.ok()) return all.error();
  std::lock_guard lock(mutex_);
  // A revoke that committed after the read began must not come back with what the read saw.
  if (changes_ != before) return storage::Unit{};
  holders_.clear();
  for (const auto& t : all.value())
    if (t.revoked_at == 0) holders_[t.hash] = Holder{t.id, t.name, t.role};
  return storage::Unit{};
}

void Tokens::create(const std::string& name, const std::string& role, Reply<Made> done) {
  if (role != "admin" && role != "operator" && role != "viewer")
    return done(storage::StoreError{false, "role: admin, operator or viewer", Reason::invalid});
  const bool printable = std::all_of(name.begin(), name.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
  if (name.empty() || name.size() > 64 || !printable)
    return done(storage::StoreError{false, "name: 1 to 64 printable characters", Reason::invalid});
  Made made;
  made.secret = "zkp_" + random_hex(32);
  made.token.name = name;
  made.token.role = role;
  made.token.hash = token_hash(made.secret);
  made.token.created_at = clock_.now();
  store_.write(
      [made](storage::Transaction& tx) {
        auto out = made;
        out.token.id = tx.tokens().insert(made.token);
        return out;
      },
      [this, done = std::move(done)](storage::StoreResult<Made> r) {
        if (r.ok()) {
          {
            std::lock_guard lock(mutex_);
            holders_[r->token.hash] = Holder{r->token.id, r->token.name, r->token.role};
            ++changes_;
          }
          spdlog::info("API token {} '{}' ({}) created", r->token.id, r->token.name, r->token.role);
        }
        done(std::move(r));
      });
}

void Tokens::list(Reply<std::vector<storage::ApiToken>> done) const {
  store_.read([](storage::Reads& r) { return r.tokens().all(); }, std::move(done));
}

void Tokens::revoke(std::int64_t id, Reply<storage::ApiToken> done) {
  const auto now = clock_.now();
  store_.write(
      [id, now](storage::Transaction& tx) {
        auto token = tx.tokens().get(id);
        if (!token) throw storage::Refused(Reason::not_found, "no API token " + std::to_string(id));
        if (tx.tokens().revoke(id, now)) token->revoked_at = now;
        return *token;
      },
      [this, done = std::move(done)](storage::StoreResult<storage::ApiToken> r) {
        if (r.ok()) {
          {
            std::lock_guard lock(mutex_);
            holders_.erase(r->hash);
            ++changes_;
          }
          spdlog::info("API token {} '{}' revoked", r->id, r->name);
        }
        done(std::move(r));
      });
}

std::optional<Tokens::Holder> Tokens::holder_of(std::string_view presented) const {
  if (presented.size() < 8 || presented.size() > 256) return std::nullopt;
  const auto hash = token_hash(presented);
  std::lock_guard lock(mutex_);
  auto it = holders_.find(hash);
  if (it == holders_.end()) return std::nullopt;
  return it->second;
}

std::size_t Tokens::count() const {
  std::lock_guard lock(mutex_);
  return holders_.size();
}

std::string Tokens::role_of(std::string_view presented) const {
  auto holder = holder_of(presented);
  return holder ? holder->role : "";
}

}  // namespace zkpush::service
