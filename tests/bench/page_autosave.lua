-- wrk script for the attempt page's autosave (issue 25): what the page's htmx sends on every change.
-- Usage: wrk -t2 -c16 -d20s -s page_autosave.lua http://127.0.0.1:PORT -- page-autosave.tsv
-- page-autosave.tsv: one request a line, "path<TAB>cookie<TAB>csrf token<TAB>form body" (seed.py);
-- the same shuffled answers as autosave.tsv. Prints the same BENCH_JSON line as autosave.lua.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local path, cookie, csrf, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
    if path then
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Cookie"] = cookie,
        ["X-CSRFToken"] = csrf,
        ["HX-Request"] = "true",
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, body)
    end
  end
  if #requests == 0 then
    error("no requests in " .. tostring(args[1]))
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
