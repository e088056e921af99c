-- Indexes an active entry rebuilt from its blob (reindex), unless the id is known.
-- KEYS[1] entry:<id>   KEYS[2] expiry   KEYS[3] stats   KEYS[4] lru   KEYS[5] query:<digest>
-- ARGV[1] id   ARGV[2] expires_at   ARGV[3] created_at   ARGV[4] completed_at   ARGV[5] size
-- ARGV[6..] the entry's fields, name and value in turn
-- Returns 1 when adopted.
-- Uses checks.lua (valid_size, finite, uncount, id_rest).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if not (finite(ARGV[2]) and finite(ARGV[3]) and finite(ARGV[4]) and valid_size(ARGV[5])) then
  return redis.error_reply('entry to adopt has a bad time or size: ' .. ARGV[1])
end
redis.call('HINCRBY', KEYS[3], 'bytes', ARGV[5])
redis.call('HSET', KEYS[1], unpack(ARGV, 6, #ARGV))
redis.call('HINCRBY', KEYS[3], 'query_bytes', redis.call('HSTRLEN', KEYS[1], 'query'))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'active_count', 1)
redis.call('ZADD', KEYS[4], ARGV[4], 'i:' .. ARGV[1])
redis.call('SET', KEYS[5], id_rest(ARGV[1]), 'NX', 'PXAT', math.floor(tonumber(ARGV[2]) * 1000) + 1)
return 1
