// The transport's only way of reporting: an optional callback (the application forwards it to
// spdlog), so this library links no logging framework.
#pragma once

#include <functional>
#include <string_view>

namespace zkpush::server::http {

enum class LogLevel { debug, info, warn, error };

// Called from I/O threads, possibly concurrently: the callback must be thread-safe and must not
// block for long. The message is only valid during the call.
using LogFn = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace zkpush::server::http
