-- The live file record, or a new placeholder in place of a missing or expired one.
-- KEYS[1] file:<cache id>   KEYS[2] files:expiry   KEYS[3] gc   KEYS[4] stats   KEYS[5] lru
-- ARGV[1] cache id   ARGV[2] token id   ARGV[3] now   ARGV[4] the placeholder's expiry
-- Returns the record's fields as HGETALL gives them.
-- Uses checks.lua (valid_size, finite, uncount).
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'blob_key', 'size', 'placeholder')
if f[1] and tonumber(f[1]) > tonumber(ARGV[3]) then return redis.call('HGETALL', KEYS[1]) end
if f[4] == '0' and not valid_size(f[3]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
if f[4] == '0' then uncount(KEYS[4], 'file_bytes', f[3]) end
if f[2] and f[2] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], f[2]) end
redis.call('ZREM', KEYS[5], 'f:' .. ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'cache_id', ARGV[1], 'token_id', ARGV[2], 'filename', 'placeholder',
  'content_type', '', 'size', 0, 'etag', '', 'blob_key', '', 'created_at', ARGV[3], 'updated_at', ARGV[3],
  'expires_at', ARGV[4], 'placeholder', 1)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return redis.call('HGETALL', KEYS[1])
