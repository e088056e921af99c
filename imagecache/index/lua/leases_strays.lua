-- Entries a lease holds that its process no longer produces.
-- KEYS[1] running   KEYS[2] due
-- ARGV[1] the lease   ARGV[2..] the ids its process is producing
-- Returns the released ids (moved from running to due, due at once).
local producing = {}
for i = 2, #ARGV do producing[ARGV[i]] = true end
local running = redis.call('HGETALL', KEYS[1])
local strays = {}
for i = 1, #running, 2 do
  if running[i + 1] == ARGV[1] and not producing[running[i]] then
    redis.call('HDEL', KEYS[1], running[i])
    redis.call('ZADD', KEYS[2], 0, running[i])
    table.insert(strays, running[i])
  end
end
return strays
