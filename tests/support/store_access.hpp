// Blocking access to a store from a test thread: a unit of work run with read_now / write_now, its
// value returned and a failure reported to gtest (never on an I/O thread: tests only).
//   auto n = test::read(app_->store(), [](storage::Reads& r) { return r.events().count(""); });
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "storage/store.hpp"

namespace zkpush::test {

// The job's value; a default-constructed one (and a test failure) when the store refused or failed.
template <class Job>
auto read(storage::Store& store, Job job) {
  auto r = store.read_now(std::move(job));
  using T = std::decay_t<decltype(r.value())>;
  if (!r.ok()) {
    ADD_FAILURE() << "store read failed: " << r.error().message;
    return T{};
  }
  return std::move(r.value());
}

template <class Job>
auto write(storage::Store& store, Job job) {
  auto r = store.write_now(std::move(job));
  using T = std::decay_t<decltype(r.value())>;
  if (!r.ok()) {
    ADD_FAILURE() << "store write failed: " << r.error().message;
    return T{};
  }
  return std::move(r.value());
}

}  // namespace zkpush::test
