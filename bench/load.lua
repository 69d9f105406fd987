-- wrk script for bench/load.sh: POSTs an article file, or GETs when none is given, and
-- counts every answer that is not 2xx (wrk's own count lets 3xx pass).
-- Arguments (after --): the path of an article JSON file, and a run name: when given, each
-- request gets a headline of its own, so the server's PDF cache never answers for the printer.

local threads = {}
local body_template = nil
local run = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  non2xx = 0
  sequence = 0
  local file = args[1]
  run = args[2] or ""
  if file ~= nil and file ~= "" then
    local handle = assert(io.open(file, "rb"))
    body_template = handle:read("*a")
    handle:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = body_template
  end
end

function request()
  if run ~= "" then
    sequence = sequence + 1
    local tag = run .. "-" .. tostring(id) .. "-" .. tostring(sequence)
    local body = body_template:gsub('"headline": "', '"headline": "Load ' .. tag .. ' ', 1)
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format()
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f non2xx=%d connect=%d read=%d write=%d "
      .. "timeout=%d status=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    total, errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
