#include "server/http/request.hpp"

namespace zkpush::server::http {
namespace {

std::string_view to_std(boost::beast::string_view s) noexcept { return {s.data(), s.size()}; }

std::string_view find_field(const Fields& fields, std::string_view name) noexcept {
  auto it = fields.find(boost::beast::string_view{name.data(), name.size()});
  return it == fields.end() ? std::string_view{} : to_std(it->value());
}

}  // namespace

std::string_view RequestHead::method_string() const noexcept {
  return to_std(header_.method_string());
}
std::string_view RequestHead::target() const noexcept { return to_std(header_.target()); }
std::string_view RequestHead::header(std::string_view name) const noexcept {
  return find_field(header_, name);
}

std::string_view Request::method_string() const noexcept { return to_std(message.method_string()); }
std::string_view Request::target() const noexcept { return to_std(message.target()); }
std::string_view Request::header(std::string_view name) const noexcept {
  return find_field(message, name);
}

}  // namespace zkpush::server::http
