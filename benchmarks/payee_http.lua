-- wrk script for benchmarks/payee_http.py: every paid request carries a mandate never sent before.
-- The pool (AEP2_POOL: one PAYMENT-SIGNATURE value a line, pre-signed) is read by each thread;
-- thread k of n sends lines OFFSET+k, OFFSET+k+n, ... so no two requests share a mandate.
-- Unpaid runs set no AEP2_POOL. done() prints one JSON line for the driver to parse.

local pool, next_line, step = nil, 0, 1
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("AEP2_POOL")
  if path == nil or path == "" then return end
  pool = {}
  for line in io.lines(path) do pool[#pool + 1] = line end
  step = tonumber(os.getenv("AEP2_THREADS") or "1")
  next_line = tonumber(os.getenv("AEP2_OFFSET") or "0") + id + 1
end

function request()
  if pool == nil then return wrk.format("GET", wrk.path) end
  local header = pool[next_line]
  if header == nil then header = "exhausted" end -- a 402, counted as an error by the driver
  next_line = next_line + step
  return wrk.format("GET", wrk.path, { ["PAYMENT-SIGNATURE"] = header })
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
