-- Running entries whose lease checkers have seen missing for a whole TTL (Redis's clock).
-- KEYS[1] running   KEYS[2] lease_missing   KEYS[3] due
-- ARGV[1] the lease key prefix   ARGV[2] the lease TTL in seconds
-- Returns the ids now lost (moved from running to due, due at once).
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
-- A lease is gone once checkers have seen it missing, look after look, for a whole TTL. A gap of a TTL
-- between two looks (an outage: nobody could look) starts the count again.
local function look(lease)
  if redis.call('EXISTS', ARGV[1] .. lease) == 1 then return 'alive' end
  local first, last = string.match(redis.call('HGET', KEYS[2], lease) or '', '^(%S+) (%S+)$')
  first, last = tonumber(first), tonumber(last)
  if not first or now - last > ttl then first = now end
  redis.call('HSET', KEYS[2], lease, string.format('%.6f %.6f', first, now))
  if now - first >= ttl then return 'gone' end
  return 'missing'
end
local running = redis.call('HGETALL', KEYS[1])
local seen, lost = {}, {}
for i = 1, #running, 2 do
  local id, lease = running[i], running[i + 1]
  seen[lease] = seen[lease] or look(lease)
  if seen[lease] == 'gone' then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZADD', KEYS[3], 0, id)
    table.insert(lost, id)
  end
end
for _, lease in ipairs(redis.call('HKEYS', KEYS[2])) do
  if seen[lease] ~= 'missing' then redis.call('HDEL', KEYS[2], lease) end  -- alive, gone, or holds nothing
end
return lost
