-- wrk script for the certificate verification benchmark (bench_certificates.py).
-- Usage: wrk -t2 -c4 -d15s -s verify.lua http://127.0.0.1:PORT -- paths.txt
-- paths.txt: one request path a line (/api/v1/certificates/verify/<code>/), valid and unknown codes
-- already shuffled together. Every request is formatted once in init(); each thread starts at its own
-- offset. done() prints one line "BENCH_JSON {...}" (latencies in microseconds).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    if line:match("^/") then
      requests[#requests + 1] = wrk.format("GET", line, { ["Accept"] = "application/json" })
    end
  end
  if #requests == 0 then
    error("no paths in " .. tostring(args[1]))
  end
  index = (id * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
