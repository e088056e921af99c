-- A page of /info: entry ids by expiry, the last to expire first, from just after a cursor, in one step (an entry
-- deleted or added between finding the cursor and reading the page cannot shift it).
-- KEYS[1] expiry
-- ARGV[1] how many ids (one more than the page holds: whether another page follows)
-- ARGV[2] the cursor: the last id of the page before ('' for the first page)
-- ARGV[3] the cursor's expiry as its id says it, less the id's rounding ('' for none): where to resume once the
-- cursor is gone (the first entry expiring with it: a page may repeat a few, but skips none)
-- Returns the ids.
local start = 0
if ARGV[2] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
  if rank then
    start = rank + 1
  elseif ARGV[3] ~= '' then
    start = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[3], '+inf')
  end
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[1]) - 1)
