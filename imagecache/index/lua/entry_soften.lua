-- A soft purge: entries are stale from now on, served only to requests that allow a stale result while a
-- refresh runs (entry_request.lua's staleness). A pending one is marked too: its fetch began before the purge,
-- so its result is stale once it lands. Entries gone or settled as errors are left alone.
-- KEYS[1..] entry:<id> of each entry
-- ARGV[1] now   ARGV[2] the channel that tells every process an entry changed   ARGV[3..] each entry's id
-- Returns how many it marked.
local marked = 0
for i, key in ipairs(KEYS) do
  local status = redis.call('HGET', key, 'status')
  if status == 'active' or status == 'pending' then
    redis.call('HSET', key, 'purged_at', ARGV[1])
    redis.call('PUBLISH', ARGV[2], ARGV[i + 2])  -- processes that remember it forget it: its view changed
    marked = marked + 1
  end
end
return marked
