// The identity of an event record that carries no index (older firmware): SHA-256 of the record.
//
// A re-sent record is byte for byte the record sent before, so the digest of `raw` recognises it.
// SHA-256 rather than a 64-bit hash: a collision would silently drop a real event, and a hostile
// device must not be able to craft one either. Events without `raw` (built by a caller from typed
// fields) are identified by their fields instead.
#pragma once

#include <string>

#include "storage/types.hpp"

namespace zkpush::storage {

// 32 bytes (binary).
std::string event_digest(const NewEvent& event);

}  // namespace zkpush::storage
