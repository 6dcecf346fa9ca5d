-- One event against a GCRA limit: the arithmetic of gcra.rs (Gcra::decide), inside Redis so
-- that every instance shares one atomic decision in one round trip.
-- KEYS[1]: the limit's key (holds the theoretical arrival time, µs since the Unix epoch).
-- ARGV[1]: emission interval, ARGV[2]: period (interval * count), both in µs.
-- Returns 0 when granted, else the wait in µs (> 0) before a retry can pass.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local allow_at = tat - (period - interval)
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', ttl_ms))
return 0
