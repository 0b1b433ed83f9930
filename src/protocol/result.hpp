// Value-type errors for the protocol core.
//
// The core never throws across its API: every parser returns Result<T>, which holds either the
// parsed value or an Error saying what was wrong and where. Malformed input from a device is an
// ordinary outcome here, not an exceptional one (see docs/error-handling.md).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace zkpush::protocol {

enum class Errc {
  malformed,         // the bytes do not follow the grammar
  incomplete,        // a required part (field, parameter, line) is missing
  bad_value,         // a value is present but out of range or of the wrong type
  unsupported,       // well-formed, but not something this library knows (unknown verb, table...)
  too_large,         // exceeds a limit (field count, line length, archive size)
};

const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code = Errc::malformed;
  std::string what;   // one line for a person: "CONTROL DEVICE needs 8 or 10 hex digits"
  std::string where;  // position in the input: "line 2", "field 'event'", "query parameter SN"

  // "malformed: <what> (at <where>)", always one line: control bytes (CR, LF, NUL...) in what or
  // where are written as \n, \r, \t or \xNN.
  std::string to_string() const;
};

inline Error make_error(Errc code, std::string what, std::string where = {}) {
  return Error{code, std::move(what), std::move(where)};
}

// Either a T or an Error. A minimal stand-in for std::expected (C++23).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}   // NOLINT: implicit on purpose
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

}  // namespace zkpush::protocol
