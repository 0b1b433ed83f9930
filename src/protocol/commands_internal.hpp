// Shared between the command formatter, parser, validator and builders; not part of the API.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/commands.hpp"

namespace zkpush::protocol::detail {

// std::visit over a variant with one lambda per alternative.
template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

struct VerbSpelling {
  Verb verb;
  std::string_view name;
};
std::span<const VerbSpelling> verb_spellings() noexcept;

// Length of the verb `name` at the start of `text` (words compared in any case, any run of SP, HT
// or '_' standing for one separator), or npos. The verb must end at SP, HT or the end of text.
std::size_t match_verb(std::string_view text, std::string_view name) noexcept;

// Key names a record of `table` may use (update and upload spellings), for the space-tolerant
// record splitter. Empty for unknown tables.
std::vector<std::string_view> known_keys(std::string_view table);

// Field of `fields` matching `key` in any case, then ignoring '_' too.
const FieldSpec* match_field(std::span<const FieldSpec> fields, std::string_view key) noexcept;

// The command survives format -> parse unchanged, else an Error naming the likely cause.
Status check_round_trip(const Command& command);

}  // namespace zkpush::protocol::detail
