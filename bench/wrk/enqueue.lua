-- POST /api/v1/devices/<prefix>NNNNNN/commands: fills the command queues of the registered devices
-- round robin, through the JSON API, before the "getrequest with commands" run.
--   wrk ... -s enqueue.lua -- <api token> <prefix> <devices> <command line>
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require("common")

local headers, prefix, devices, body
local counter = 0

function init(args)
  headers = {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}
  prefix = args[2] or "WRK"
  devices = tonumber(args[3] or "100")
  body = '{"line": "' .. (args[4] or "DATA COUNT user") .. '"}'
  counter = thread_id
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/devices/" .. bench.serial(prefix, counter % devices + 1) .. "/commands",
                    headers, body)
end
