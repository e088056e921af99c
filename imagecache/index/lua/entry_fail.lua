-- Pending -> error, reused by new requests until ARGV[6]; wakes every waiter with the entry's fields.
-- KEYS[1] entry:<id>   KEYS[2] status:pending   KEYS[3] status:error   KEYS[4] running   KEYS[5] due   KEYS[6] stats
-- KEYS[7] callbacks:<id>   KEYS[8] callbacks_due (its callbacks are due now, if it has any)
-- ARGV[1] id   ARGV[2] now   ARGV[3] status   ARGV[4] kind   ARGV[5] message   ARGV[6] until   ARGV[7] channel
-- ARGV[8..] counters to add to stats with it, as name, amount pairs (what the failed attempt cost)
-- Uses checks.lua
-- Returns 1 when settled, 0 when the entry was not pending.
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
add_counts(KEYS[6], 8)
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'error', 'completed_at', ARGV[2], 'error_status', ARGV[3],
  'error_type', ARGV[4], 'error_message', ARGV[5], 'error_until', ARGV[6])
redis.call('SMOVE', KEYS[2], KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[7]) == 1 then redis.call('ZADD', KEYS[8], ARGV[2], ARGV[1]) end
announce(ARGV[7], ARGV[1], KEYS[1])
return 1
