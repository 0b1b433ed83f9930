-- POST /iclock/cdata?SN=..&table=rtlog with <records> distinct events per request. The store
-- drops a re-sent (device, index, time) as a duplicate, so every event gets its own index
-- (increasing per device, as a real log) and a time that follows it.
--   wrk ... -s rtlog.lua -- <prefix> <devices> <records per request> <wrk threads>
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require("common")

local prefix, devices, records
local counter = 0
local threads = 2

function init(args)
  prefix = args[1] or "ING"
  devices = tonumber(args[2] or "1000")
  records = tonumber(args[3] or "1")
  threads = tonumber(args[4] or "2")
end

local function record(index)
  local s = index
  local time = string.format("2026-01-%02d %02d:%02d:%02d", 1 + math.floor(s / 86400) % 28,
                             math.floor(s / 3600) % 24, math.floor(s / 60) % 60, s % 60)
  return string.format("time=%s\tpin=%d\tcardno=%d\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\tindex=%d",
                       time, index % 5000 + 1, 100000 + index % 5000, index)
end

function request()
  -- m numbers requests across threads; device m mod devices gets its (m div devices)-th request,
  -- whose records take the next indexes of that device.
  local m = counter * threads + thread_id
  counter = counter + 1
  local first = math.floor(m / devices) * records
  local lines = {}
  for r = 1, records do lines[r] = record(first + r) end
  local path = "/iclock/cdata?SN=" .. bench.serial(prefix, m % devices + 1) .. "&table=rtlog"
  return wrk.format("POST", path, bench.device_headers, table.concat(lines, "\n") .. "\n")
end
