-- Points a live cache at a new blob; the old one goes to gc after a grace.
-- KEYS[1] file:<cache id>   KEYS[2] files:expiry   KEYS[3] gc   KEYS[4] stats   KEYS[5] lru
-- ARGV[1] cache id   ARGV[2] token id   ARGV[3] now   ARGV[4] new blob key   ARGV[5] filename   ARGV[6] content type
-- ARGV[7] size   ARGV[8] etag   ARGV[9] expires_at   ARGV[10] when the old blob may go
-- Returns 'ok', 'missing' or 'forbidden'.
-- Uses checks.lua (valid_size, finite, uncount).
local f = redis.call('HMGET', KEYS[1], 'token_id', 'expires_at', 'blob_key', 'size', 'placeholder')
if not f[1] or tonumber(f[2]) <= tonumber(ARGV[3]) then return 'missing' end
if f[1] ~= ARGV[2] then return 'forbidden' end
if f[3] == ARGV[4] then return 'ok' end  -- this very upload, indexed by an earlier try of this call
if f[5] == '0' and not valid_size(f[4]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
redis.call('HINCRBY', KEYS[4], 'file_bytes', ARGV[7])
if f[5] == '0' then uncount(KEYS[4], 'file_bytes', f[4]) end
if f[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[10], f[3]) end
redis.call('ZREM', KEYS[3], ARGV[4])  -- the upload was garbage until now (services/blob_lifecycle.py)
redis.call('HSET', KEYS[1], 'blob_key', ARGV[4], 'filename', ARGV[5], 'content_type', ARGV[6], 'size', ARGV[7],
  'etag', ARGV[8], 'expires_at', ARGV[9], 'updated_at', ARGV[3], 'placeholder', 0)
redis.call('ZADD', KEYS[2], ARGV[9], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], 'f:' .. ARGV[1])
return 'ok'
