-- wrk script of the token scenario (bench/token_bench.py): each request is a different, single-use body.
--
-- A `/token` request carries a fresh authorization code and a client assertion with its own `jti`, both good once,
-- so the bodies are made before the run, one file per wrk thread (`BENCH_BODIES` with `%d` for the thread's
-- number, from 0), one urlencoded body a line. Each thread sends its lines in order, each once. A thread that has
-- sent its last line stops (its last request is a harmless `GET /healthz`, never a body twice) and says so in the
-- `BENCH-TOKENS` line, so the harness knows the run was cut short and by how much.
--
-- `done` prints the same `BENCH-RESULT` line as request.lua, which bench/wrk.py parses.

local pattern = os.getenv("BENCH_BODIES")
local path = os.getenv("BENCH_PATH") or "/token"
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local threads = {}

function setup(thread)
   thread:set("bodies_file", string.format(pattern, #threads))
   -- wrk calls the first thread's `request` once before the run, to count the requests it returns (pipelining),
   -- and never sends that one: it must not use up a body.
   thread:set("checked", #threads == 0 and 0 or 1)
   table.insert(threads, thread)
end

function init(args)
   bodies = {}
   for line in io.lines(bodies_file) do
      if line ~= "" then
         bodies[#bodies + 1] = line
      end
   end
   count = #bodies
   sent = 0
   exhausted = 0
end

function request()
   if checked == 0 then
      checked = 1
      return wrk.format("POST", path, headers, bodies[1] or "")
   end
   if sent < count then
      sent = sent + 1
      return wrk.format("POST", path, headers, bodies[sent])
   end
   exhausted = 1
   wrk.thread:stop()
   return wrk.format("GET", "/healthz")
end

function done(summary, latency, requests)
   local sent_total, bodies_total, exhausted_threads = 0, 0, 0
   for _, thread in ipairs(threads) do
      sent_total = sent_total + thread:get("sent")
      bodies_total = bodies_total + thread:get("count")
      exhausted_threads = exhausted_threads + thread:get("exhausted")
   end
   io.write(string.format(
      "BENCH-TOKENS {\"sent\": %d, \"bodies\": %d, \"exhausted_threads\": %d}\n",
      sent_total, bodies_total, exhausted_threads))
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
