#include "protocol/codecs_time.hpp"

#include <array>
#include <limits>
#include <vector>

#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// Appendix 5 treats every month as 31 days and every year as 12 such months.
constexpr std::int64_t kZkDaysPerYear = 12 * 31;
// Unix seconds of 0001-01-01T00:00:00 and 9999-12-31T23:59:59: the range civil_from_unix covers.
constexpr std::int64_t kMinUnix = -62135596800;
constexpr std::int64_t kMaxUnix = 253402300799;

constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly n decimal digits at s[pos...].
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

void append_padded(std::string& out, long long value, int width) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  if (value < 0) out.push_back('-');
  for (int i = static_cast<int>(digits.size()); i < width; ++i) out.push_back('0');
  out += digits;
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar
// with no floating point and no overflow for the years we accept.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool valid_clock(int hour, int minute, int second) noexcept {
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
}

Error time_error(std::string what, std::string_view text) {
  return make_error(Errc::bad_value, std::move(what), "'" + text::sanitize_utf8(text.substr(0, 64)) + "'");
}

}  // namespace

bool is_leap_year(int year) noexcept { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  if (month == 2 && is_leap_year(year)) return 29;
  return kDays[month - 1];
}

bool is_valid_date(int year, int month, int day) noexcept {
  return year >= 1 && year <= 9999 && day >= 1 && day <= days_in_month(year, month);
}

bool is_valid_civil_time(const CivilTime& t) noexcept {
  return is_valid_date(t.year, t.month, t.day) && valid_clock(t.hour, t.minute, t.second);
}

// ---- Appendix 5/6 ------------------------------------------------------------------------------------

Result<std::uint32_t> encode_zktime(const CivilTime& t) {
  if (!is_valid_civil_time(t))
    return make_error(Errc::bad_value, "not a calendar date and time: " + format_datetime(t));
  if (t.year < 2000) return make_error(Errc::bad_value, "Appendix 5 time starts in the year 2000");
  const std::int64_t days = (t.year - 2000) * kZkDaysPerYear + (t.month - 1) * 31 + (t.day - 1);
  const std::int64_t seconds = days * kSecondsPerDay + (t.hour * 60 + t.minute) * 60 + t.second;
  if (seconds > std::numeric_limits<std::uint32_t>::max())
    return make_error(Errc::bad_value, "past the last Appendix 5 time (32-bit seconds)");
  return static_cast<std::uint32_t>(seconds);
}

CivilTime decode_zktime(std::uint32_t seconds) noexcept {
  std::uint32_t tt = seconds;
  CivilTime t;
  t.second = static_cast<int>(tt % 60);
  tt /= 60;
  t.minute = static_cast<int>(tt % 60);
  tt /= 60;
  t.hour = static_cast<int>(tt % 24);
  tt /= 24;
  t.day = static_cast<int>(tt % 31) + 1;
  tt /= 31;
  t.month = static_cast<int>(tt % 12) + 1;
  tt /= 12;
  t.year = static_cast<int>(tt) + 2000;
  return t;
}

Result<CivilTime> parse_zktime(std::string_view text) {
  auto v = text::parse_uint(text);
  if (!v) return time_error("an Appendix 5 time is an unsigned decimal number", text);
  if (*v > std::numeric_limits<std::uint32_t>::max()) return time_error("Appendix 5 time exceeds 32 bits", text);
  return decode_zktime(static_cast<std::uint32_t>(*v));
}

// ---- text forms ------------------------------------------------------------------------------------

std::string format_iso_date(const CivilTime& t) {
  std::string out;
  append_padded(out, t.year, 4);
  out.push_back('-');
  append_padded(out, t.month, 2);
  out.push_back('-');
  append_padded(out, t.day, 2);
  return out;
}

namespace {
std::string date_and_clock(const CivilTime& t, char separator) {
  std::string out = format_iso_date(t);
  out.push_back(separator);
  append_padded(out, t.hour, 2);
  out.push_back(':');
  append_padded(out, t.minute, 2);
  out.push_back(':');
  append_padded(out, t.second, 2);
  return out;
}
}  // namespace

std::string format_datetime(const CivilTime& t) { return date_and_clock(t, ' '); }
std::string format_iso8601(const CivilTime& t) { return date_and_clock(t, 'T'); }

std::string format_date8(const CivilTime& t) {
  std::string out;
  append_padded(out, t.year, 4);
  append_padded(out, t.month, 2);
  append_padded(out, t.day, 2);
  return out;
}

Result<CivilTime> parse_datetime(std::string_view text) {
  std::string_view s = text::trim(text);
  CivilTime t;
  bool shape = s.size() == 19 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') && s[13] == ':' &&
               s[16] == ':' && read_digits(s, 0, 4, t.year) && read_digits(s, 5, 2, t.month) &&
               read_digits(s, 8, 2, t.day) && read_digits(s, 11, 2, t.hour) && read_digits(s, 14, 2, t.minute) &&
               read_digits(s, 17, 2, t.second);
  if (!shape) return time_error("expected YYYY-MM-DD HH:MM:SS", text);
  if (!is_valid_civil_time(t)) return time_error("no such date or time", text);
  return t;
}

Result<CivilTime> parse_date8(std::string_view text) {
  std::string_view s = text::trim(text);
  CivilTime t;
  if (s.size() != 8 || !read_digits(s, 0, 4, t.year) || !read_digits(s, 4, 2, t.month) || !read_digits(s, 6, 2, t.day))
    return time_error("expected YYYYMMDD", text);
  if (!is_valid_date(t.year, t.month, t.day)) return time_error("no such date", text);
  return t;
}

// ---- user StartTime / EndTime -------------------------------------------------------------------------

const char* validity_form_name(ValidityForm form) noexcept {
  switch (form) {
    case ValidityForm::unlimited: return "unlimited";
    case ValidityForm::zktime: return "zktime";
    case ValidityForm::date8: return "date8";
  }
  return "unlimited";
}

namespace {
bool means_no_limit(std::string_view s) noexcept {
  s = text::trim(s);
  return s.empty() || s.find_first_not_of('0') == std::string_view::npos;
}
}  // namespace

Result<ValidityTime> parse_validity_time(std::string_view text, bool date_fmt_zktime) {
  if (means_no_limit(text)) return ValidityTime{};
  if (date_fmt_zktime) {
    auto t = parse_zktime(text);
    if (!t) return t.error();
    return ValidityTime{ValidityForm::zktime, *t};
  }
  auto t = parse_date8(text);
  if (!t) return t.error();
  return ValidityTime{ValidityForm::date8, *t};
}

Result<ValidityTime> guess_validity_time(std::string_view text) {
  if (means_no_limit(text)) return ValidityTime{};
  std::string_view s = text::trim(text);
  if (s.size() == 8) {
    auto d = parse_date8(s);
    if (d && d->year >= 1900 && d->year <= 2099) return ValidityTime{ValidityForm::date8, *d};
  }
  return parse_validity_time(s, true);
}

Result<std::string> format_validity_time(const std::optional<CivilTime>& time, bool date_fmt_zktime) {
  if (!time) return std::string("0");
  if (date_fmt_zktime) {
    auto v = encode_zktime(*time);
    if (!v) return v.error();
    return std::to_string(*v);
  }
  if (!is_valid_date(time->year, time->month, time->day))
    return make_error(Errc::bad_value, "no such date: " + format_iso_date(*time));
  return format_date8(*time);
}

// ---- Unix time and HTTP Date ---------------------------------------------------------

Result<CivilTime> civil_from_unix(std::int64_t unix_seconds) {
  if (unix_seconds < kMinUnix || unix_seconds > kMaxUnix)
    return make_error(Errc::bad_value, "time outside the years 1-9999");
  const std::int64_t days = floor_div(unix_seconds, kSecondsPerDay);
  const std::int64_t rest = unix_seconds - days * kSecondsPerDay;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  CivilTime t;
  t.year = static_cast<int>(y);
  t.month = static_cast<int>(m);
  t.day = static_cast<int>(d);
  t.hour = static_cast<int>(rest / 3600);
  t.minute = static_cast<int>(rest / 60 % 60);
  t.second = static_cast<int>(rest % 60);
  return t;
}

Result<std::int64_t> unix_from_civil(const CivilTime& t) {
  if (!is_valid_civil_time(t)) return make_error(Errc::bad_value, "not a calendar date and time: " + format_datetime(t));
  const std::int64_t days = days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  return days * kSecondsPerDay + t.hour * 3600 + t.minute * 60 + t.second;
}

std::string format_http_date(std::int64_t unix_seconds) {
  auto t = civil_from_unix(unix_seconds);
  if (!t) return {};
  const std::int64_t days = floor_div(unix_seconds, kSecondsPerDay);
  // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7 + 4) % 7);
  std::string out(kWeekdayNames[weekday]);
  out += ", ";
  append_padded(out, t->day, 2);
  out.push_back(' ');
  out += kMonthNames[static_cast<std::size_t>(t->month - 1)];
  out.push_back(' ');
  append_padded(out, t->year, 4);
  out.push_back(' ');
  append_padded(out, t->hour, 2);
  out.push_back(':');
  append_padded(out, t->minute, 2);
  out.push_back(':');
  append_padded(out, t->second, 2);
  out += " GMT";
  return out;
}

Result<std::int64_t> parse_http_date(std::string_view text) {
  // Drop the spaces the manual prints after colons, then expect
  // "Www, DD Mmm YYYY HH:MM:SS GMT" token by token.
  std::string s;
  std::string_view in = text::trim(text);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == ' ' && !s.empty() && s.back() == ':') continue;
    s.push_back(in[i]);
  }
  std::vector<std::string_view> parts;
  for (auto piece : text::split(s, ' '))
    if (!piece.empty()) parts.push_back(piece);
  if (parts.size() != 6 || parts[0].size() != 4 || parts[0][3] != ',' || !text::iequals(parts[5], "GMT"))
    return time_error("expected an HTTP date such as 'Wed, 11 Jan 2017 01:30:08 GMT'", text);
  CivilTime t;
  std::string_view day = parts[1];
  if (!(day.size() == 2 && read_digits(day, 0, 2, t.day)) && !(day.size() == 1 && read_digits(day, 0, 1, t.day)))
    return time_error("bad day in HTTP date", text);
  t.month = 0;
  for (std::size_t i = 0; i < kMonthNames.size(); ++i)
    if (text::iequals(parts[2], kMonthNames[i])) t.month = static_cast<int>(i) + 1;
  if (t.month == 0) return time_error("bad month in HTTP date", text);
  std::string_view hms = parts[4];
  if (parts[3].size() != 4 || !read_digits(parts[3], 0, 4, t.year) || hms.size() != 8 || hms[2] != ':' ||
      hms[5] != ':' || !read_digits(hms, 0, 2, t.hour) || !read_digits(hms, 3, 2, t.minute) ||
      !read_digits(hms, 6, 2, t.second))
    return time_error("bad year or time in HTTP date", text);
  if (!is_valid_civil_time(t)) return time_error("no such date or time", text);
  return unix_from_civil(t);
}

Result<std::uint32_t> zktime_from_unix(std::int64_t unix_seconds, int offset_minutes) {
  if (unix_seconds < kMinUnix || unix_seconds > kMaxUnix) return make_error(Errc::bad_value, "time outside the years 1-9999");
  auto t = civil_from_unix(unix_seconds + static_cast<std::int64_t>(offset_minutes) * 60);
  if (!t) return t.error();
  return encode_zktime(*t);
}

// ---- time segments ----------------------------------------------------------------------------------

namespace {
bool split_hhmm(std::uint32_t hhmm, int& hour, int& minute) noexcept {
  hour = static_cast<int>(hhmm / 100);
  minute = static_cast<int>(hhmm % 100);
  return hour <= 23 && minute <= 59;
}

int minutes_of(int hour, int minute) noexcept { return hour * 60 + minute; }
}  // namespace

Result<TimeSegment> decode_time_segment(std::uint32_t value) {
  TimeSegment seg;
  if (!split_hhmm(value >> 16, seg.start_hour, seg.start_minute) ||
      !split_hhmm(value & 0xFFFFu, seg.end_hour, seg.end_minute))
    return make_error(Errc::bad_value, "time period halves must be hhmm (hour*100+minute)", std::to_string(value));
  return seg;
}

Result<TimeSegment> decode_time_segment(std::string_view decimal_text) {
  auto v = text::parse_uint(decimal_text);
  if (!v || *v > std::numeric_limits<std::uint32_t>::max())
    return time_error("a time period is an unsigned 32-bit decimal number", decimal_text);
  return decode_time_segment(static_cast<std::uint32_t>(*v));
}

Result<std::uint32_t> encode_time_segment(const TimeSegment& s) {
  if (!valid_clock(s.start_hour, s.start_minute, 0) || !valid_clock(s.end_hour, s.end_minute, 0))
    return make_error(Errc::bad_value, "time period out of range: " + format_time_segment(s));
  if (minutes_of(s.start_hour, s.start_minute) > minutes_of(s.end_hour, s.end_minute))
    return make_error(Errc::bad_value, "time period ends before it starts: " + format_time_segment(s));
  const auto start = static_cast<std::uint32_t>(s.start_hour * 100 + s.start_minute);
  const auto end = static_cast<std::uint32_t>(s.end_hour * 100 + s.end_minute);
  return (start << 16) | end;
}

std::string format_time_segment(const TimeSegment& s) {
  std::string out;
  append_padded(out, s.start_hour, 2);
  out.push_back(':');
  append_padded(out, s.start_minute, 2);
  out.push_back('-');
  append_padded(out, s.end_hour, 2);
  out.push_back(':');
  append_padded(out, s.end_minute, 2);
  return out;
}

Result<TimeSegment> parse_time_segment(std::string_view text) {
  std::string s;
  for (char c : text)
    if (c != ' ' && c != '\t') s.push_back(c);
  auto parse_clock = [](std::string_view p, int& h, int& m) {
    std::size_t colon = p.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 2 || p.size() != colon + 3) return false;
    return read_digits(p, 0, colon, h) && read_digits(p, colon + 1, 2, m);
  };
  std::size_t dash = s.find('-');
  TimeSegment seg;
  if (dash == std::string::npos ||
      !parse_clock(std::string_view(s).substr(0, dash), seg.start_hour, seg.start_minute) ||
      !parse_clock(std::string_view(s).substr(dash + 1), seg.end_hour, seg.end_minute))
    return time_error("expected a time period such as 08:30-12:00", text);
  auto v = encode_time_segment(seg);
  if (!v) return v.error();
  return seg;
}

}  // namespace zkpush::protocol
