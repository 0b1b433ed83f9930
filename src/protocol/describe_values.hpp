// Internal to describe*.cpp: the JSON meaning of one value of each kind. Each function accepts any
// bytes and never throws for bad input; a value that does not decode gives {"raw","error"}.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/describe.hpp"
#include "protocol/result.hpp"
#include "protocol/schema.hpp"

namespace zkpush::protocol::describe_detail {

using Json = nlohmann::ordered_json;

Json text_json(std::string_view value, const DescribeContext& ctx);  // charset policy applied
Json failure_json(std::string_view value, const Error& error);
Json number_or_text(std::string_view value, const DescribeContext& ctx);
// {"code": <number, or the text when not a number>, "name": <name or null>}
Json code_json(std::string_view value, std::optional<std::string_view> name);

Json event_json(std::string_view value);
Json verify_json(std::string_view value);
// `cmd` is the CMD of a devicecmd result: for QUERY, COUNT and ACCOUNT a Return >= 0 is a count.
Json return_json(std::string_view value, std::string_view cmd);
Json card_json(std::string_view value);
Json datetime_json(std::string_view value);
Json zktime_json(std::string_view value, bool zero_means_unlimited);
Json validity_json(std::string_view value, const DescribeContext& ctx);
Json date8_json(std::string_view value);
Json timerange_json(std::string_view value);
Json doors_json(std::string_view value, bool one_door_per_record);
Json floors_json(std::string_view value);
Json inout_json(std::string_view value);
Json errorlog_json(std::string_view value);
Json base64_json(std::string_view value);
Json boolean_json(std::string_view value, const DescribeContext& ctx);
Json dst_json(std::string_view value);  // DSTSetting MMIIWWHH
// An enums.hpp table lookup; events, verification modes and error-log codes get their own form.
Json enum_ref_json(std::string_view enum_ref, std::string_view value);
// A field with a value list (FieldSpec::values), falling back to its enum_ref.
Json enumerated_json(const FieldSpec& spec, std::string_view value, const DescribeContext& ctx);
Json bitmask_json(const FieldSpec& spec, std::string_view value, const DescribeContext& ctx);
// The "doors" member of an rtstate record.
Json rtstate_doors_json(std::string_view sensor, std::string_view relay, std::string_view alarm,
                        const DescribeContext& ctx);

}  // namespace zkpush::protocol::describe_detail
