-- Admits one tool call against every budget that applies to it, exactly as the memory store does:
-- a budget admits when fewer than `max` admissions lie within the last `window`; the call is recorded
-- in every budget only if all of them admit. Runs atomically, so replicas sharing Redis cannot race.
--
-- KEYS[i]          sorted set of budget i: members are admission ids, scores admission times (µs)
-- ARGV[1]          id of this admission (unique; a refund removes it)
-- ARGV[2]          clock in ms for tests; empty in production, where the server's TIME is the one
--                  clock every replica shares
-- ARGV[2i+1]       window of budget i, in ms
-- ARGV[2i+2]       max of budget i
-- Returns {0, 0} when admitted, else {i, µs until budget i has room} where i is the first full
-- budget and the wait is the longest among the full ones.

local now
if ARGV[2] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
else
  now = tonumber(ARGV[2]) * 1000
end

local blocked, wait = 0, 0
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 * i + 1]) * 1000
  local max = tonumber(ARGV[2 * i + 2])
  -- An admission at exactly now - window has left the window.
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= max then
    -- Room returns when enough of the oldest admissions leave the window.
    local oldest = redis.call('ZRANGE', KEYS[i], count - max, count - max, 'WITHSCORES')
    local budgetWait = tonumber(oldest[2]) + window - now
    if blocked == 0 then blocked = i end
    if budgetWait > wait then wait = budgetWait end
  end
end
if blocked ~= 0 then return {blocked, wait} end

for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  -- The newest admission counts for one window; the key outlives it by a second, then expires.
  redis.call('PEXPIRE', KEYS[i], math.min(tonumber(ARGV[2 * i + 1]) + 1000, 1e15))
end
return {0, 0}
