// The Date header: IMF-fixdate (RFC 7231 section 7.1.1.1), always GMT.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace zkpush::server::http {

// "Sun, 06 Nov 1994 08:49:37 GMT". Locale-independent (strftime's %a and %b are not).
std::string format_http_date(std::time_t t);

// The current time formatted as above, re-formatted at most once per second per thread: every
// response carries a Date, and formatting it per request would be wasted work. The view stays
// valid until the next call on the same thread.
std::string_view http_date_now() noexcept;

}  // namespace zkpush::server::http
