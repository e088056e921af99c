-- Pending -> error, reused by new requests until ARGV[6], or, backing off (ARGV[8] not ''), for ARGV[8] seconds
-- doubled at each consecutive failure of its query, at most ARGV[9] (domain/error_backoff.py); wakes every waiter
-- with the entry's fields.
-- KEYS[1] entry:<id>   KEYS[2] running   KEYS[3] due   KEYS[4] stats
-- KEYS[5] callbacks:<id>   KEYS[6] callbacks_due (its callbacks are due now, if it has any)
-- KEYS[7] failures:<digest> (the query's consecutive failures: it lapses ARGV[9] seconds after its error does)
-- ARGV[1] id   ARGV[2] now   ARGV[3] status   ARGV[4] kind   ARGV[5] message   ARGV[6] until   ARGV[7] channel
-- ARGV[8] first seconds ('' for a fixed until)   ARGV[9] most seconds
-- ARGV[10] the tenant key prefix ("<prefix>tenant:"): an entry a tenant started leaves its pending count
-- ARGV[11] held:<id>   ARGV[12] the tenant held key prefix: a run whose entry is gone frees its tenant's slot
-- ARGV[13..] counters to add to stats with it, as name, amount pairs (what the failed attempt cost)
-- Uses checks.lua
-- Returns 1 when settled, 0 when the entry was not pending.
local f = redis.call('HMGET', KEYS[1], 'status', 'tenant')
if f[1] ~= 'pending' then
  release_held(ARGV[11], ARGV[12], ARGV[1])
  return 0
end
add_counts(KEYS[4], 13)
local error_until = ARGV[6]
if ARGV[8] ~= '' then  -- worked out whole before the first write: a refused write must leave nothing half done
  local failures, most = (tonumber(redis.call('GET', KEYS[7])) or 0) + 1, tonumber(ARGV[9])
  local seconds = math.min(tonumber(ARGV[8]) * 2 ^ math.min(failures - 1, 62), most)
  error_until = string.format('%.6f', tonumber(ARGV[2]) + seconds)
  redis.call('SET', KEYS[7], failures, 'EX', math.ceil(seconds + most) + 1)
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], 'progress', 'progress_message')  -- kept while pending only
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'error', 'completed_at', ARGV[2], 'error_status', ARGV[3],
  'error_type', ARGV[4], 'error_message', ARGV[5], 'error_until', error_until)
redis.call('HINCRBY', KEYS[4], 'pending_count', -1)
if f[2] then redis.call('HINCRBY', ARGV[10] .. f[2], 'pending', -1) end
redis.call('HINCRBY', KEYS[4], 'error_count', 1)
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1]) end
announce(ARGV[7], ARGV[1], KEYS[1])
return 1
