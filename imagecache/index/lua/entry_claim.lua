-- One more attempt at a pending entry, made under a worker's lease.
-- KEYS[1] entry:<id>   KEYS[2] running   KEYS[3] due
-- ARGV[1] id   ARGV[2] now   ARGV[3] lease   ARGV[4] the lease key prefix
-- Returns the attempt's number, or -1 when the entry is settled or a live lease holds it.
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return -1 end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[3] and redis.call('EXISTS', ARGV[4] .. holder) == 1 then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'started_at', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
