// The decoded view of whole messages: a device request, a server command, a devicecmd result.
//
// Each view has "records" — every record's fields exactly as on the wire (keys as sent, values as
// text) — and "decoded" — at the same positions, what they mean (describe.hpp). `zkpush decode`
// prints these views; the server's JSON API shows commands and results with the same functions.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/describe.hpp"
#include "protocol/device_requests.hpp"

namespace zkpush::protocol {

// Fields in wire order as a JSON object (duplicate keys: later ones get "#2", "#3"...); bare
// tokens map to null; values are made valid UTF-8.
nlohmann::ordered_json record_json(const Record& record);

// {"endpoint","method","path","query","sn","table","records","decoded"[,"pagination"][,"archive"]
//  [,"notes"]}
nlohmann::ordered_json describe_request(const DeviceRequest& request, const DescribeContext& ctx = {});

// {"id","verb","catalogue_id","table","records","decoded"[,"envelope"]}
nlohmann::ordered_json describe_command(const Command& command, const DescribeContext& ctx = {});

// What a CONTROL DEVICE line asks for: {"action","code", then the action's own members}.
nlohmann::ordered_json describe_control_device(const ControlDevice& control);

// A devicecmd result line; `verb` is the verb of the command it answers when known (the CMD text
// is unreliable), else guessed from CMD. {"id","return":{"code","kind","name"},"cmd"[,"sn"]...}
nlohmann::ordered_json describe_result(const CommandResult& result, std::optional<Verb> verb = std::nullopt);

}  // namespace zkpush::protocol
