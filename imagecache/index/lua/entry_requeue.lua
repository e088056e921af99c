-- Notes a new job for a pending entry and when to check it was picked up.
-- KEYS[1] entry:<id>   KEYS[2] due   KEYS[3] running
-- ARGV[1] id   ARGV[2] now   ARGV[3] when to check its pickup   ARGV[4] the lease key prefix
-- Returns its job kind and its tenant ('' when none is accounted), or false (and the entry is no longer due)
-- when it is settled or a live lease holds it.
local holder = redis.call('HGET', KEYS[3], ARGV[1])
local held = holder and redis.call('EXISTS', ARGV[4] .. holder) == 1
local f = redis.call('HMGET', KEYS[1], 'status', 'job', 'tenant')
if f[1] ~= 'pending' or held then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
redis.call('HSET', KEYS[1], 'enqueued_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return {f[2], f[3] or ''}
