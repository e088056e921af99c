-- One more attempt at a pending entry, made under a worker's lease; the attempt's result key is garbage until
-- the entry points at it (services/blob_lifecycle.py), so a worker dying mid-write leaves nothing behind.
-- KEYS[1] entry:<id>   KEYS[2] running   KEYS[3] due   KEYS[4] gc
-- ARGV[1] id   ARGV[2] now   ARGV[3] lease   ARGV[4] the lease key prefix   ARGV[5] the attempt's result key
-- ARGV[6] when that key is collected unless indexed
-- Returns the entry's fields as HGETALL gives them, attempts counted; empty when it is settled or a live lease
-- holds it.
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return {} end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[3] and redis.call('EXISTS', ARGV[4] .. holder) == 1 then return {} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
redis.call('HSET', KEYS[1], 'started_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'progress', 'progress_message')  -- a lost run's reports are not this run's
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HGETALL', KEYS[1])
