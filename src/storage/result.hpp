// The outcome of every store call, reads and writes alike: a value or a StoreError.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace zkpush::storage {

struct StoreError {
  // Why a request was refused, for callers that map it (the JSON API: 404, 409, 400). `none` for
  // failures of the database itself and for bugs.
  enum class Reason { none, not_found, conflict, invalid };

  // The database as a whole failed (disk full, I/O error, locked, read-only): nothing of the request
  // was kept and the same request may succeed later, so devices are told to retry (503).
  bool transient = false;
  std::string message;
  Reason reason = Reason::none;
};

// Thrown by an area, or by the job of a unit of work, to refuse what was asked (an unknown command,
// a command no longer cancellable...) as opposed to a failure of the database. Inside a write the
// unit's changes are rolled back; the caller gets a non-transient StoreError with the reason.
class Refused : public std::runtime_error {
 public:
  Refused(StoreError::Reason reason, const std::string& message) : std::runtime_error(message), reason_(reason) {}
  StoreError::Reason reason() const noexcept { return reason_; }

 private:
  StoreError::Reason reason_;
};

template <class T>
class StoreResult {
 public:
  StoreResult(T value) : v_(std::move(value)) {}           // NOLINT: implicit on purpose
  StoreResult(StoreError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const StoreError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, StoreError> v_;
};

struct Unit {};
using StoreStatus = StoreResult<Unit>;

}  // namespace zkpush::storage
