-- POSTs the JSON file named by WRK_BODY_FILE and prints one JSON line of results.
local file = assert(io.open(os.getenv("WRK_BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

-- Each connection's first request waits WRK_FIRST_DELAY_MS (set by bench/run.ts for the measured
-- run): every connection is then accepted before the load starts. Later requests do not wait.
local first_delay = tonumber(os.getenv("WRK_FIRST_DELAY_MS") or "0")
local first_requests = tonumber(os.getenv("WRK_CONNECTIONS") or "0")
if first_delay > 0 then
  function delay()
    if first_requests > 0 then
      first_requests = first_requests - 1
      return first_delay
    end
    return 0
  end
end
