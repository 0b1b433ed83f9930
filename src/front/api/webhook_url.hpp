// The receiver URL of a webhook: checked by the API when a subscription is made, used by the
// deliverer (outbound/webhooks.hpp) to connect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zkpush::front::api {

// "http://host[:port][/path][?query]" (port 80 by default, IPv6 hosts in brackets).
struct WebhookUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path and query, as given
  std::string host_header() const;
};
// nullopt and why (in `why`, when given) for anything else: https (not yet), user:password@,
// spaces or control characters, a bad port.
std::optional<WebhookUrl> parse_webhook_url(std::string_view url, std::string* why = nullptr);

}  // namespace zkpush::front::api
