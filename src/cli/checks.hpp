// Checks of numeric options, with messages a user can act on. CLI11's own PositiveNumber and
// NonNegativeNumber say "Value -1 not in range 2.22507e-308 to 1.79769e+308"; these say
// "--request-delay: must be at least 1, got -1" (CLI11 puts the option's name first).
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <string>

namespace zkpush::cli {

namespace detail {

inline std::string number_text(double v) {
  std::string s = std::to_string(v);  // "1.500000": trailing zeros and a bare point go
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

// A number within [min, max] (either bound optional through ±infinity), or a message saying which
// side it missed; `above_min` makes the lower bound exclusive (a rate: more than 0).
inline CLI::Validator number_check(double min, double max, bool above_min, std::string description) {
  return CLI::Validator(
      [=](std::string& input) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(input, v) || std::isnan(v)) return "not a number: " + input;
        const bool low = above_min ? v <= min : v < min;
        if (!low && v <= max) return {};
        if (std::isinf(max)) {
          return (above_min ? "must be more than " : "must be at least ") + number_text(min) + ", got " + input;
        }
        return "must be " + number_text(min) + " to " + number_text(max) + ", got " + input;
      },
      std::move(description));
}

}  // namespace detail

// 0 or more: options where 0 means something (0 = one per core, 0 = until Ctrl-C, 0 = never).
inline CLI::Validator not_negative() { return detail::number_check(0, INFINITY, false, ">= 0"); }
// More than 0: rates and intervals that cannot be zero (devices started per second).
inline CLI::Validator more_than_zero() { return detail::number_check(0, INFINITY, true, "> 0"); }
// min or more (whole numbers: at least 1 second).
inline CLI::Validator at_least(double min) {
  return detail::number_check(min, INFINITY, false, ">= " + detail::number_text(min));
}
// min to max, both included.
inline CLI::Validator between(double min, double max) {
  return detail::number_check(min, max, false, detail::number_text(min) + "-" + detail::number_text(max));
}

}  // namespace zkpush::cli
