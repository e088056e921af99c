-- A soft purge: active entries are stale from now on, served only to requests that allow a stale result while
-- a refresh runs (entry_request.lua's staleness). Entries gone or not active are left alone.
-- KEYS[1..] entry:<id> of each entry
-- ARGV[1] now
-- Returns how many it marked.
local marked = 0
for _, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'status') == 'active' then
    redis.call('HSET', key, 'purged_at', ARGV[1])
    marked = marked + 1
  end
end
return marked
