// The Bearer token of the JSON API (/api/v1), which is always on: given by --api-token /
// ZKPUSH_API_TOKEN, or else kept in <data>/api-token (mode 0600) — generated at the first start
// and reused by every later one, so scripts keep working across restarts.
#pragma once

#include <filesystem>
#include <string>

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

}  // namespace zkpush::server
