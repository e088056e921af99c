-- Indexes a record made elsewhere (reindex, a KBase import) unless the id is taken.
-- KEYS[1] file:<cache id>   KEYS[2] files:expiry   KEYS[3] stats   KEYS[4] lru
-- ARGV[...] the record's fields, name and value in turn
-- Returns 1 when adopted.
-- Uses checks.lua (valid_size, finite, uncount).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local r = {}
for i = 1, #ARGV, 2 do r[ARGV[i]] = ARGV[i + 1] end
if not (finite(r.expires_at) and finite(r.updated_at) and valid_size(r.size)) then
  return redis.error_reply('file to adopt has a bad time or size: ' .. tostring(r.cache_id))
end
if r.placeholder == '0' then redis.call('HINCRBY', KEYS[3], 'file_bytes', r.size) end
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.call('ZADD', KEYS[2], r.expires_at, r.cache_id)
if r.placeholder == '0' then redis.call('ZADD', KEYS[4], r.updated_at, 'f:' .. r.cache_id) end
return 1
