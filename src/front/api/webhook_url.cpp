#include "front/api/webhook_url.hpp"

#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

std::string WebhookUrl::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (port != 80) h += ":" + std::to_string(port);
  return h;
}

std::optional<WebhookUrl> parse_webhook_url(std::string_view url, std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<WebhookUrl> {
    if (why) *why = reason;
    return std::nullopt;
  };
  constexpr std::string_view scheme = "http://";
  if (url.size() > 8 && p::text::iequals(url.substr(0, 8), "https://"))
    return fail("https receivers are not supported yet (TLS comes with the security work): use http://");
  if (url.size() <= scheme.size() || !p::text::iequals(url.substr(0, scheme.size()), scheme))
    return fail("an http://host[:port]/path URL");
  url.remove_prefix(scheme.size());
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return fail("no spaces or control characters in a URL");
  }
  const auto end = url.find_first_of("/?#");
  auto authority = url.substr(0, end);
  WebhookUrl u;
  if (end != std::string_view::npos) {
    auto rest = url.substr(end);
    rest = rest.substr(0, rest.find('#'));  // a fragment is not sent
    u.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  }
  if (authority.find('@') != std::string_view::npos)
    return fail("no user:password@ in the URL (receivers check the signature instead)");
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 host in brackets: http://[::1]:8080/");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("an http://host[:port]/path URL");
      port = after.substr(1);
      if (port.empty()) return fail("a port after ':'");
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return fail("a port after ':'");
  }
  if (host.empty()) return fail("a host: http://host[:port]/path");
  u.host = std::string(host);
  if (!port.empty()) {
    auto n = port.find_first_not_of("0123456789") == std::string_view::npos && port.size() <= 5
                 ? p::text::parse_int(port)
                 : std::nullopt;
    if (!n || *n < 1 || *n > 65535) return fail("a port from 1 to 65535");
    u.port = static_cast<std::uint16_t>(*n);
  }
  return u;
}

}  // namespace zkpush::front::api
