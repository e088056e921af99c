-- A read: the file's expiry restarts and it becomes the most recently used.
-- KEYS[1] file:<cache id>   KEYS[2] files:expiry   KEYS[3] lru
-- ARGV[1] cache id   ARGV[2] now   ARGV[3] new expiry
-- Returns 1 when touched.
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'placeholder')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[2]) or f[2] ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'expires_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], 'f:' .. ARGV[1])
return 1
