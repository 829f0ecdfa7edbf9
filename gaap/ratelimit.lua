--[[
GCRA (generic cell rate algorithm) for gaap/ratelimit.py. One bucket per call, atomic because Redis runs a
script without interleaving, so concurrent gateway processes can never admit more than the bucket allows.

KEYS[1]  the bucket (the only key touched, so the script is cluster-safe)
ARGV[1]  now, integer milliseconds; empty: the Redis server's clock (TIME). Tests pass a frozen clock.
ARGV[2]  count: requests per period (the refill rate)
ARGV[3]  period, integer milliseconds
ARGV[4]  burst: bucket capacity
ARGV[5]  cost: cells to consume; 0 = peek (read only, reports what a cost-1 request would get)

Exact integer arithmetic. The emission interval is period/count ms, which is rarely a whole number of ms
(15 per second is 66.67 ms), so durations are counted in units of 1/count ms: one request is `period` units
and the tolerance (a full bucket) is `burst * period` units. All durations are relative to now, so they stay
far below 2^53 and Lua's doubles hold them exactly.

The value stored is the theoretical arrival time (TAT) as "MS:REM/COUNT": TAT = MS + REM/COUNT milliseconds.
COUNT is kept so that a limit changed under an existing bucket (a new tier) is read safely: the sub-ms
remainder is then rounded up to the next whole ms. A bucket whose TAT has passed is full, the same as no key,
so each write carries a PX of exactly TAT - now: no key ever lives without an expiry, and none outlives its
use.

Reply: {allowed (1/0), remaining, retry_after, reset_after}, the last two in units of 1/count ms.
]]

local key = KEYS[1]
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local count = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local tau = burst * period

-- d: how far the TAT lies ahead of now, in units (0 when the bucket is full).
local d = 0
local stored = redis.call('GET', key)
if stored then
  local ms, rem, n = string.match(stored, '^(%d+):(%d+)/(%d+)$')
  if ms then
    ms = tonumber(ms)
    rem = tonumber(rem)
    if tonumber(n) ~= count then
      if rem > 0 then ms = ms + 1 end
      rem = 0
    end
    if ms >= now then
      d = (ms - now) * count + rem
    end
  end
end

local function admissible(ahead)
  -- How many cost-1 requests the bucket would admit right now.
  local left = math.floor((tau - ahead) / period)
  if left < 0 then return 0 end
  return left
end

if cost == 0 then
  local retry = d + period - tau
  if retry <= 0 then
    return {1, admissible(d), 0, d}
  end
  return {0, 0, retry, d}
end

local new_d = d + cost * period
if new_d > tau then
  -- Denied: nothing is written, so a denied request consumes nothing.
  return {0, admissible(d), new_d - tau, d}
end

local tat_ms = now + math.floor(new_d / count)
local tat_rem = new_d % count
redis.call('SET', key, string.format('%d:%d/%d', tat_ms, tat_rem, count), 'PX', math.ceil(new_d / count))
return {1, admissible(new_d), 0, new_d}
