-- A soft purge: active entries are stale from now on, served only to requests that allow a stale result while
-- a refresh runs (entry_request.lua's staleness). Entries gone or not active are left alone.
-- ARGV[1] the entry key prefix ("<prefix>entry:")   ARGV[2] now   ARGV[3..] entry ids
-- Returns how many it marked.
local marked = 0
for i = 3, #ARGV do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('HGET', key, 'status') == 'active' then
    redis.call('HSET', key, 'purged_at', ARGV[2])
    marked = marked + 1
  end
end
return marked
