// A write the store refuses for what it asks (unknown command, command no longer cancellable...),
// as opposed to a failure of the database. Thrown inside a write job, so that job's savepoint is
// rolled back; the store reports it as a non-transient StoreError with its reason.
#pragma once

#include <stdexcept>
#include <string>

#include "storage/types.hpp"

namespace zkpush::storage::sqlite {

class Rejection : public std::runtime_error {
 public:
  Rejection(StoreError::Reason reason, const std::string& message) : std::runtime_error(message), reason_(reason) {}
  StoreError::Reason reason() const noexcept { return reason_; }

 private:
  StoreError::Reason reason_;
};

}  // namespace zkpush::storage::sqlite
