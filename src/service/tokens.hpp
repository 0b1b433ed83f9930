// API tokens with roles: admin (everything), operator (doors, events, persons), viewer (read only).
//
// A token is shown once, when it is made ("zkp_" and 64 hex digits from the CSPRNG); the store keeps
// its SHA-256 only, and so does the in-memory table every API request is checked against (no store
// access per request). The token given to `serve` (--api-token) is checked by the front, not here:
// it is an admin that cannot be revoked through the API.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "service/clock.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

// SHA-256 of the text, lower-case hex.
std::string token_hash(std::string_view token);

class Tokens {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  struct Made {
    storage::ApiToken token;
    std::string secret;  // the token itself: shown once
  };

  Tokens(storage::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Start-up, and again on a store shared with other nodes (which make and revoke tokens through
  // their own API): the tokens in force (blocking). A create or revoke of this node that ends while
  // the read is under way wins over what the read saw (the next load reads it anyway).
  storage::StoreStatus load();

  // `role`: admin, operator or viewer; `name`: 1 to 64 printable characters.
  void create(const std::string& name, const std::string& role, Reply<Made> done);
  void list(Reply<std::vector<storage::ApiToken>> done) const;
  void revoke(std::int64_t id, Reply<storage::ApiToken> done);

  // Who holds a token in force (nullopt for any other text). No store access.
  struct Holder {
    std::int64_t id = 0;
    std::string name;
    std::string role;
  };
  std::optional<Holder> holder_of(std::string_view presented) const;
  // How many tokens are in force (the start-up log).
  std::size_t count() const;
  // The role of a token in force, "" for any other text.
  std::string role_of(std::string_view presented) const;

 private:
  storage::Store& store_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Holder> holders_;  // hash -> holder, tokens in force
  std::uint64_t changes_ = 0;              // creates and revokes of this node, for load()
};

}  // namespace zkpush::service
