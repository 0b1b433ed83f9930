// The Bearer token of the JSON API (/api/v1), which is always on: given by --api-token /
// ZKPUSH_API_TOKEN, or else kept in <data>/api-token (mode 0600) — generated at the first start
// and reused by every later one, so scripts keep working across restarts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace zkpush::server {

struct ApiToken {
  enum class Source { configured, stored, generated };
  std::string value;
  Source source = Source::configured;
  std::filesystem::path path;  // <data>/api-token; empty when configured
};

inline constexpr const char* kApiTokenFile = "api-token";

// configured non-empty: that token, nothing read or written. Otherwise the token in
// <data_dir>/api-token, or a new one (32 random bytes, hex) written there atomically with mode
// 0600 when the file is missing or empty. Throws std::runtime_error with the path and the reason
// when the file cannot be read or written, or holds something that is not a token.
ApiToken resolve_api_token(const std::string& configured, const std::filesystem::path& data_dir);

// What the start-up log says about a token instead of the token itself (a service log is read by
// more people than the token should be): "sha256:" and the first 8 hex digits of its SHA-256, enough
// to tell two tokens apart, nothing to log in with.
std::string token_fingerprint(std::string_view token);

// Why a token is easy to guess, "" when it is not: shorter than kMinTokenLength characters, or made of
// fewer than kMinTokenVariety distinct characters ("aaaaaaaaaaaaaaaa"). Such a token is accepted with a
// WARN line at every start, never refused: a server that stopped starting after an upgrade would lock
// out the scripts that use it (docs/security.md "API tokens").
inline constexpr std::size_t kMinTokenLength = 16;
inline constexpr std::size_t kMinTokenVariety = 6;
std::string token_weakness(std::string_view token);

}  // namespace zkpush::server
