// ACCOUNT (9.2): what the check of a device's transaction log found, from the uploads kept for the
// command. Pure: the command queue puts it into the command's result, the ingest service refreshes
// it when an archive arrives after the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/types.hpp"

namespace zkpush::service {

// {"records", "missing_inserted", "expected_records"?}: records received (per archive, the latest
// upload of each: a re-posted archive is not counted twice), missing ones inserted (over every
// upload: a re-post inserts nothing more), and the SumCount the controller announced. nullopt when
// nothing was uploaded for the command yet.
std::optional<nlohmann::ordered_json> account_totals(const std::vector<storage::CommandData>& data);

// Puts the totals into a command's result JSON text (an object; anything else starts afresh).
std::string with_account_totals(const std::string& result, const nlohmann::ordered_json& totals);

}  // namespace zkpush::service
