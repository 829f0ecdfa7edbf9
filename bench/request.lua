-- The one wrk script every scenario uses (bench/wrk.py passes the request through the environment).
--
-- Why a script: wrk's command line cannot send a body, and its text report rounds latencies to two decimals of a
-- millisecond. The request is fixed at load time (method, body, headers), so wrk pre-builds it once per thread
-- and spends no Lua per request: on a 2-core machine wrk's own CPU is taken from the servers it measures.
-- `done` prints one machine-readable line with exact microseconds, which bench/wrk.py parses.

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
   wrk.body = body
   wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
end

local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
   wrk.headers["Authorization"] = authorization
end

-- Warm-ups (discarded anyway) also note which statuses failed and the first failing body: wrk's own count says
-- only "non-2xx". A Lua `response` hook costs wrk time on every answer, so measured runs never install it.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

if os.getenv("BENCH_STATUSES") == "1" then
   function init(args)
      failed = ""
   end

   function response(status, headers, body)
      if status > 399 and string.len(failed) < 600 then
         failed = failed .. status .. " " .. string.gsub(string.sub(body or "", 1, 200), "[\r\n\"]", " ") .. "; "
      end
   end
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      local failed = thread:get("failed")
      if failed ~= nil and failed ~= "" then
         io.write("BENCH-FAILED " .. failed .. "\n")
      end
   end
   local errors = summary.errors
   io.write(string.format(
      "BENCH-RESULT {\"requests\": %d, \"duration_us\": %d, \"bytes\": %d, " ..
      "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"max_us\": %d, \"mean_us\": %.1f, " ..
      "\"errors_connect\": %d, \"errors_read\": %d, \"errors_write\": %d, \"errors_status\": %d, " ..
      "\"errors_timeout\": %d}\n",
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max, latency.mean,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
