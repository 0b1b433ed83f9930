-- Shared by the wrk scripts of `make bench`: a device's request headers, and a machine-readable
-- summary (wrk's own text rounds latencies and hides the status errors among others).
bench = {}

bench.device_headers = {
  ["User-Agent"] = "iClock Proxy/1.09",
  ["Accept"] = "application/push",
  ["Accept-Charset"] = "UTF-8",
  ["Accept-Language"] = "zh-CN",
  ["Content-Type"] = "application/push; charset=UTF-8",
}

function bench.serial(prefix, n)
  return string.format("%s%06d", prefix, n)
end

-- Each wrk thread has its own Lua state: a thread id keeps generated values distinct across them.
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"threads":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, next_id))
end
