-- GET /iclock/<endpoint>?SN=<prefix>NNNNNN, round robin over registered devices, no cookie (the
-- server accepts a device without one by default).
--   wrk ... -s device_get.lua -- <endpoint> <prefix> <devices>
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require("common")

local endpoint, prefix, devices
local counter = 0

function init(args)
  endpoint = args[1] or "ping"
  prefix = args[2] or "WRK"
  devices = tonumber(args[3] or "100")
  counter = thread_id  -- threads start on different devices
end

function request()
  counter = counter + 1
  local path = "/iclock/" .. endpoint .. "?SN=" .. bench.serial(prefix, counter % devices + 1)
  return wrk.format("GET", path, bench.device_headers)
end
