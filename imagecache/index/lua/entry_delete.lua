-- Drops an entry from every index and queues its result for collection.
-- KEYS[1] entry:<id>   KEYS[2] expiry   KEYS[3] stats   KEYS[4] gc   KEYS[5] lru   KEYS[6] running   KEYS[7] due
-- ARGV[1] id   ARGV[2] query:<digest> key   ARGV[3] now
-- ARGV[4] channel   ARGV[5] last:<digest> key   ARGV[6] the tag key prefix ("<prefix>tag:")
-- ARGV[7] callbacks:<id>   ARGV[8] callbacks_due (a deleted entry's callbacks are dropped)
-- ARGV[9] the entry's result prefix: its result's key is this, a dot and the entry's `result`
-- ARGV[10] the tenant key prefix   ARGV[11] the tenant LRU key prefix (a tenant's entry leaves its figures)
-- ARGV[12] the held key prefix ("<prefix>held:")   ARGV[13] the tenant held key prefix ("<prefix>tenant_held:")
-- ARGV[14] the longest a run may still take, in seconds: a tenant's pending entry deleted while its run goes on (it
-- expired, or was purged) leaves its pending count, but its run holds the slot (tenant_held:<tenant>) until it ends
-- (release_held in entry_complete.lua, entry_fail.lua) or that long has passed, so deleting entries never lets a
-- tenant run more than its pending quota at once.
-- Returns 1 when the entry existed.
-- Uses checks.lua (valid_size, finite, uncount, id_rest).
local f = redis.call('HMGET', KEYS[1], 'status', 'size', 'result', 'tags', 'tenant')
if f[1] == 'active' and not valid_size(f[2]) then return redis.error_reply('entry has no valid size: ' .. ARGV[1]) end
if f[1] == 'active' then uncount(KEYS[3], 'bytes', f[2]) end
if f[5] and f[1] == 'active' then
  uncount(ARGV[10] .. f[5], 'bytes', f[2])
  redis.call('ZREM', ARGV[11] .. f[5], 'i:' .. ARGV[1])
elseif f[5] and f[1] == 'pending' then
  redis.call('HINCRBY', ARGV[10] .. f[5], 'pending', -1)
  if redis.call('HEXISTS', KEYS[6], ARGV[1]) == 1 then
    local bound = tonumber(ARGV[3]) + tonumber(ARGV[14])
    redis.call('ZADD', ARGV[13] .. f[5], bound, ARGV[1])
    redis.call('SET', ARGV[12] .. ARGV[1], f[5], 'PXAT', math.floor(bound * 1000) + 1)
  end
end
if f[1] then uncount(KEYS[3], 'query_bytes', redis.call('HSTRLEN', KEYS[1], 'query')) end
local rest = id_rest(ARGV[1])
if redis.call('GET', ARGV[2]) == rest then redis.call('DEL', ARGV[2]) end
if redis.call('GET', ARGV[5]) == rest then redis.call('DEL', ARGV[5]) end
redis.call('DEL', ARGV[7])
redis.call('ZREM', ARGV[8], ARGV[1])
if f[4] then
  for _, name in ipairs(cjson.decode(f[4])) do redis.call('SREM', ARGV[6] .. name, ARGV[1]) end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if f[1] then redis.call('HINCRBY', KEYS[3], f[1] .. '_count', -1) end
redis.call('ZREM', KEYS[5], 'i:' .. ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
if f[3] then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[9] .. '.' .. f[3]) end  -- its result, if it has one
if f[1] then
  redis.call('PUBLISH', ARGV[4], ARGV[1])
  return 1
end
return 0
