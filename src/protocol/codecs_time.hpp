// Time values of PUSH 3.1.2 and their conversions.
//
//   zktime      Appendix 5/6: seconds in a calendar where every month has 31 days, counted from
//               2000-01-01 00:00:00 (user/userauthorize/timezone validity, transaction
//               time_second, SET OPTIONS DateTime, rtdata DateTime). Not Unix time.
//   datetime    "YYYY-MM-DD HH:MM:SS" (rtlog, rtstate, ACCOUNT), device-local wall clock.
//   date8       "YYYYMMDD" (holiday, birthdays, user validity when DateFmtFunOn=0).
//   segment     a time period of one day, (start_hhmm << 16) | end_hhmm (timezone, DiffTimezoneVS).
//   HTTP Date   IMF-fixdate in GMT, the device's clock source (4.1).
// (ServerTZ offsets "+0800" are read and written by responses.hpp.)
//
// Nothing here reads a clock: callers pass "now" in. See docs/protocol-decisions.md, 10
// for which of the time sources the server uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace zkpush::protocol {

// A calendar date and wall-clock time without a zone. Decoding a zktime may give a day that the
// Gregorian calendar does not have (2018-02-31): is_valid_civil_time() tells.
struct CivilTime {
  int year = 2000;
  int month = 1;   // 1-12
  int day = 1;     // 1-31
  int hour = 0;    // 0-23
  int minute = 0;  // 0-59
  int second = 0;  // 0-59

  bool operator==(const CivilTime&) const = default;
};

bool is_leap_year(int year) noexcept;
int days_in_month(int year, int month) noexcept;  // 0 for a month outside 1-12
bool is_valid_date(int year, int month, int day) noexcept;
bool is_valid_civil_time(const CivilTime& t) noexcept;

// ---- Appendix 5/6 ------------------------------------------------------------------------------------

// Rejects dates the calendar does not have (Feb 30), years before 2000 and values past 2^32-1.
Result<std::uint32_t> encode_zktime(const CivilTime& t);
// Any 32-bit value decodes (Appendix 6 arithmetic), possibly to an impossible date.
CivilTime decode_zktime(std::uint32_t seconds) noexcept;
// Decimal text of a zktime ("583512660"); rejects text that is not a 32-bit unsigned number.
Result<CivilTime> parse_zktime(std::string_view text);

// ---- text forms ------------------------------------------------------------------------------------

std::string format_iso8601(const CivilTime& t);  // "2018-02-27T14:51:00" (no zone: wall clock)
std::string format_iso_date(const CivilTime& t);  // "2018-02-27"
std::string format_datetime(const CivilTime& t);  // "2018-02-27 14:51:00"
std::string format_date8(const CivilTime& t);     // "20180227"

// "YYYY-MM-DD HH:MM:SS"; 'T' is accepted in place of the space. The date must exist.
Result<CivilTime> parse_datetime(std::string_view text);
// "YYYYMMDD"; the date must exist. Time fields are 0.
Result<CivilTime> parse_date8(std::string_view text);

// ---- user StartTime / EndTime -------------------------------------------------------------------------

// A user's validity bound: zktime when the device reports DateFmtFunOn=1, else YYYYMMDD; "0" (or
// an empty value) means no limit either way.
enum class ValidityForm { unlimited, zktime, date8 };
const char* validity_form_name(ValidityForm form) noexcept;

struct ValidityTime {
  ValidityForm form = ValidityForm::unlimited;
  CivilTime time;  // meaningful unless form == unlimited
};

Result<ValidityTime> parse_validity_time(std::string_view text, bool date_fmt_zktime);
// When DateFmtFunOn is not known: eight digits that form a date of 1900-2099 are taken as
// YYYYMMDD (such a zktime would fall in the year 2000 anyway), anything else as zktime.
Result<ValidityTime> guess_validity_time(std::string_view text);
// nullopt -> "0" (no limit). zktime form rejects impossible dates.
Result<std::string> format_validity_time(const std::optional<CivilTime>& time, bool date_fmt_zktime);

// ---- Unix time and HTTP Date ---------------------------------------------------------

// Proleptic Gregorian calendar; years 1-9999 only.
Result<CivilTime> civil_from_unix(std::int64_t unix_seconds);
Result<std::int64_t> unix_from_civil(const CivilTime& t);

// "Wed, 11 Jan 2017 01:30:08 GMT" (RFC 7231 IMF-fixdate).
std::string format_http_date(std::int64_t unix_seconds);
// IMF-fixdate; spaces after the colons ("03: 53: 16", as printed in 1.3) are tolerated.
Result<std::int64_t> parse_http_date(std::string_view text);

// zktime of the wall clock at unix_seconds in a zone offset_minutes east of GMT. The rtdata answer
// is zktime_from_unix(now, 0) with ServerTZ (responses.hpp format_time_answer / format_tz_offset);
// SET OPTIONS DateTime is zktime_from_unix(now, device zone).
Result<std::uint32_t> zktime_from_unix(std::int64_t unix_seconds, int offset_minutes = 0);

// ---- time segments ----------------------------------------------------------------------------------

struct TimeSegment {
  int start_hour = 0;
  int start_minute = 0;
  int end_hour = 0;
  int end_minute = 0;

  // Value 0: the period is not used.
  bool empty() const noexcept { return start_hour == 0 && start_minute == 0 && end_hour == 0 && end_minute == 0; }
  bool operator==(const TimeSegment&) const = default;
};

// Both halves must be valid hhmm (hour 0-23, minute 0-59); the upper 16 bits hold the start.
Result<TimeSegment> decode_time_segment(std::uint32_t value);
Result<TimeSegment> decode_time_segment(std::string_view decimal_text);
// The start must not be after the end (the manual defines no periods across midnight).
Result<std::uint32_t> encode_time_segment(const TimeSegment& segment);
std::string format_time_segment(const TimeSegment& segment);  // "08:30-12:00"
// "08:30-12:00", "8:30 - 12:00"; validated like encode_time_segment.
Result<TimeSegment> parse_time_segment(std::string_view text);

}  // namespace zkpush::protocol
