-- Forgets a cache (only if still expired at ARGV[3], when that is >= 0); its blob goes to gc.
-- KEYS[1] file:<cache id>   KEYS[2] files:expiry   KEYS[3] gc   KEYS[4] stats   KEYS[5] lru
-- ARGV[1] cache id   ARGV[2] now   ARGV[3] expired before (-1: regardless)
-- Returns 1 when removed.
-- Uses checks.lua (valid_size, finite, uncount).
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'blob_key', 'size', 'placeholder')
if not f[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if tonumber(ARGV[3]) >= 0 and tonumber(f[1]) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[2], f[1], ARGV[1])  -- not expired after all: its place in the expiry set follows
  return 0
end
if f[4] == '0' and not valid_size(f[3]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
if f[4] == '0' then uncount(KEYS[4], 'file_bytes', f[3]) end
if f[2] ~= '' then redis.call('ZADD', KEYS[3], ARGV[2], f[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[5], 'f:' .. ARGV[1])
return 1
