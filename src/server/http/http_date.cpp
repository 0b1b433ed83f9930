#include "server/http/http_date.hpp"

#include <cstring>

namespace zkpush::server::http {
namespace {

constexpr std::size_t kDateLength = 29;  // "Sun, 06 Nov 1994 08:49:37 GMT"

void put2(char* p, int v) noexcept {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
}

void format_into(std::time_t t, char (&out)[kDateLength + 1]) noexcept {
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::memcpy(out, "Sun, 00 Jan 0000 00:00:00 GMT", kDateLength + 1);
  std::memcpy(out, kDays + 3 * (tm.tm_wday % 7), 3);
  put2(out + 5, tm.tm_mday);
  std::memcpy(out + 8, kMonths + 3 * (tm.tm_mon % 12), 3);
  const int year = tm.tm_year + 1900;  // four digits: the format has no room for more
  put2(out + 12, year / 100);
  put2(out + 14, year % 100);
  put2(out + 17, tm.tm_hour);
  put2(out + 20, tm.tm_min);
  put2(out + 23, tm.tm_sec);
}

}  // namespace

std::string format_http_date(std::time_t t) {
  char buf[kDateLength + 1];
  format_into(t, buf);
  return std::string(buf);
}

std::string_view http_date_now() noexcept {
  // Thread-local rather than shared: no lock or atomic on the response path, and each I/O
  // thread formats at most once per second.
  thread_local std::time_t cached_second = -1;
  thread_local char cached[kDateLength + 1];
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    format_into(now, cached);
    cached_second = now;
  }
  return {cached, kDateLength};
}

}  // namespace zkpush::server::http
