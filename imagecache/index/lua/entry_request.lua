-- Join the live entry for a query, or create a new pending one (single flight).
-- KEYS[1] query:<digest>   KEYS[2] entry:<new id>   KEYS[3] ids   KEYS[4] expiry   KEYS[5] status:pending
-- KEYS[6] stats            KEYS[7] created           KEYS[8] due
-- ARGV[1] the entry key prefix ("<prefix>entry:")   ARGV[2] new id   ARGV[3] now   ARGV[4] expires_at
-- ARGV[5] max_age (-1: any)   ARGV[6] refresh (1/0)   ARGV[7] canonical query   ARGV[8] when to check its pickup
-- ARGV[9] its job kind
-- Returns: id, how it was answered (created/joined/hit/error), then the entry's fields as HGETALL gives them.
local function answer(id, reuse, stat)
  redis.call('HINCRBY', KEYS[6], stat, 1)
  local out = redis.call('HGETALL', ARGV[1] .. id)
  table.insert(out, 1, reuse)
  table.insert(out, 1, id)
  return out
end
local now = tonumber(ARGV[3])
local cur = redis.call('GET', KEYS[1])
if cur then
  local f = redis.call('HMGET', ARGV[1] .. cur, 'status', 'expires_at', 'completed_at', 'error_until')
  local status, expires = f[1], tonumber(f[2])
  if status and expires and expires > now then
    if status == 'pending' then return answer(cur, 'joined', 'dedupes') end
    if ARGV[6] ~= '1' then
      local max_age = tonumber(ARGV[5])
      if status == 'active' and (max_age < 0 or now - (tonumber(f[3]) or 0) <= max_age) then
        return answer(cur, 'hit', 'hits')
      end
      if status == 'error' and now < (tonumber(f[4]) or 0) then return answer(cur, 'error', 'error_hits') end
    end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return answer(ARGV[2], 'joined', 'dedupes') end
redis.call('HINCRBY', KEYS[6], 'misses', 1)
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'status', 'pending', 'created_at', ARGV[3],
  'expires_at', ARGV[4], 'query', ARGV[7], 'attempts', 0, 'enqueued_at', ARGV[3], 'job', ARGV[9])
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', math.floor(tonumber(ARGV[4]) * 1000) + 1)
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[8], ARGV[8], ARGV[2])
local out = redis.call('HGETALL', KEYS[2])
table.insert(out, 1, 'created')
table.insert(out, 1, ARGV[2])
return out
