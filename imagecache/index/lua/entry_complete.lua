-- Pending -> active: the result at ARGV[7]; wakes every waiter with the entry's fields, and makes its callbacks
-- due.
-- KEYS[1] entry:<id>   KEYS[2] stats   KEYS[3] lru   KEYS[4] running   KEYS[5] due   KEYS[6] gc
-- KEYS[7] callbacks:<id>   KEYS[8] callbacks_due   KEYS[9] failures:<digest> (a success starts its count over)
-- KEYS[10] durations (hash: job kind -> its runs' recent duration in seconds, each run weighing DURATION_WEIGHT)
-- ARGV[1] id   ARGV[2] now   ARGV[3] content type   ARGV[4] size   ARGV[5] etag   ARGV[6] channel   ARGV[7] blob key
-- ARGV[8] the blob key's own part, which the entry keeps as `result` (domain/entry_record.py: result_suffix)
-- ARGV[9] the tenant key prefix ("<prefix>tenant:")   ARGV[10] the tenant LRU key prefix ("<prefix>tenant_lru:"):
-- a result a tenant started counts toward its stored bytes and joins its own LRU set (its stored_bytes quota)
-- ARGV[11] held:<id>   ARGV[12] the tenant held key prefix: a run whose entry is gone frees its tenant's slot
-- ARGV[13..] counters to add to stats with it, as name, amount pairs (what producing it cost)
-- Uses checks.lua
-- Returns 1 (settled now, or by an earlier try of this same call), 0 (gone or settled otherwise).
local f = redis.call('HMGET', KEYS[1], 'status', 'result', 'job', 'started_at', 'tenant')
if f[1] == 'active' and f[2] == ARGV[8] then return 1 end  -- this result, stored by an earlier try of this call
if f[1] ~= 'pending' then
  release_held(ARGV[11], ARGV[12], ARGV[1])
  return 0
end
local DURATION_WEIGHT = 0.2
if f[3] and tonumber(f[4]) then
  local took = math.max(0, tonumber(ARGV[2]) - tonumber(f[4]))
  local before = tonumber(redis.call('HGET', KEYS[10], f[3]))
  local recent = before and (before * (1 - DURATION_WEIGHT) + took * DURATION_WEIGHT) or took
  redis.call('HSET', KEYS[10], f[3], string.format('%.3f', recent))
end
redis.call('HINCRBY', KEYS[2], 'bytes', ARGV[4])
add_counts(KEYS[2], 13)
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[1], 'progress', 'progress_message')  -- kept while pending only
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[7])  -- the result was garbage until now (services/blob_lifecycle.py)
redis.call('HSET', KEYS[1], 'status', 'active', 'completed_at', ARGV[2],
  'content_type', ARGV[3], 'size', ARGV[4], 'etag', ARGV[5], 'result', ARGV[8])
redis.call('HINCRBY', KEYS[2], 'pending_count', -1)
redis.call('HINCRBY', KEYS[2], 'active_count', 1)
redis.call('DEL', KEYS[9])
redis.call('ZADD', KEYS[3], ARGV[2], 'i:' .. ARGV[1])
if f[5] then
  redis.call('HINCRBY', ARGV[9] .. f[5], 'pending', -1)
  redis.call('HINCRBY', ARGV[9] .. f[5], 'bytes', ARGV[4])
  redis.call('ZADD', ARGV[10] .. f[5], ARGV[2], 'i:' .. ARGV[1])
end
if redis.call('EXISTS', KEYS[7]) == 1 then redis.call('ZADD', KEYS[8], ARGV[2], ARGV[1]) end
announce(ARGV[6], ARGV[1], KEYS[1])
return 1
