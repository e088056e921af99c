-- Pending -> error, reused by new requests until ARGV[6]; wakes every waiter with the entry's fields.
-- KEYS[1] entry:<id>   KEYS[2] running   KEYS[3] due   KEYS[4] stats
-- KEYS[5] callbacks:<id>   KEYS[6] callbacks_due (its callbacks are due now, if it has any)
-- ARGV[1] id   ARGV[2] now   ARGV[3] status   ARGV[4] kind   ARGV[5] message   ARGV[6] until   ARGV[7] channel
-- ARGV[8..] counters to add to stats with it, as name, amount pairs (what the failed attempt cost)
-- Uses checks.lua
-- Returns 1 when settled, 0 when the entry was not pending.
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
add_counts(KEYS[4], 8)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'error', 'completed_at', ARGV[2], 'error_status', ARGV[3],
  'error_type', ARGV[4], 'error_message', ARGV[5], 'error_until', ARGV[6])
redis.call('HINCRBY', KEYS[4], 'pending_count', -1)
redis.call('HINCRBY', KEYS[4], 'error_count', 1)
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1]) end
announce(ARGV[7], ARGV[1], KEYS[1])
return 1
