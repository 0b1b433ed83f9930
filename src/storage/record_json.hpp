// How a protocol::Record is kept in one text column (device registry, device records' fields).
//
// A JSON array of fields in wire order, each ["key", "value"], or ["key"] for a bare token; a
// record with a table word is {"prefix": "user", "fields": [...]}. A string that is not valid UTF-8
// (names from GB2312 firmware) is written {"hex": "..."} instead of a JSON string.
//
// Why JSON and not the wire formats: a comma list cannot hold values with commas, and a tab record
// relies on the liberal parser's heuristics (table word, spaces) to come back; JSON gives back
// exactly the fields, keys' case, order and bare tokens that were stored, whatever bytes they hold,
// and stays readable and queryable (json_each) in the database. Backend-neutral: PostgreSQL can keep
// the same text (its jsonb needs valid UTF-8 too, which the hex form guarantees).
#pragma once

#include <string>
#include <string_view>

#include "protocol/fields.hpp"

namespace zkpush::storage {

std::string record_to_json(const protocol::Record& record);
// Throws std::runtime_error when the text is not what record_to_json writes.
protocol::Record record_from_json(std::string_view text);

}  // namespace zkpush::storage
