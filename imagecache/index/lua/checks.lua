-- Functions the index scripts share (in front of each script that says it uses them; see redis_access/scripts.py).
-- valid_size(v): v is a decimal size. finite(v): v is a finite number.
-- uncount(hash, field, size): subtracts a stored size exactly (never HINCRBY by -0, exact past 2^53).
-- add_counts(hash, first): adds ARGV[first], ARGV[first + 1], ... as name, amount pairs (an integer by
-- HINCRBY, anything else by HINCRBYFLOAT).
-- announce(channel, id, key, without): tells waiters the entry settled, with its fields: '<id> <JSON object>'
-- (index/notifier.py), so no waiter reads it again; `without` names a field left out (progress leaves out the
-- query, up to 64 KiB, which no waiter of a pending entry needs).
-- release_held(held, prefix, id): a run whose entry was deleted under it (entry_delete.lua) has ended: its tenant's
-- pending slot, held in <prefix><tenant> since, is free again.
-- id_rest(id), id_head(id): query:<digest> and last:<digest> keep what follows '<digest>_' in an id (its expiry),
-- the key saying the digest; an id is its head ('<digest>_') and that rest.
local function valid_size(value)
  return value ~= nil and value ~= false and string.match(value, '^%d+$') ~= nil
end
local function finite(value)
  local n = tonumber(value)
  return n ~= nil and n == n and n ~= math.huge and n ~= -math.huge
end
local function uncount(hash, field, size)
  if tonumber(size) ~= 0 then redis.call('HINCRBY', hash, field, '-' .. size) end
end
local function add_counts(hash, first)
  for i = first, #ARGV - 1, 2 do
    if string.match(ARGV[i + 1], '^-?%d+$') then
      redis.call('HINCRBY', hash, ARGV[i], ARGV[i + 1])
    else
      redis.call('HINCRBYFLOAT', hash, ARGV[i], ARGV[i + 1])
    end
  end
end
local function announce(channel, id, key, without)
  local flat, fields = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do
    if flat[i] ~= without then fields[flat[i]] = flat[i + 1] end
  end
  redis.call('PUBLISH', channel, id .. ' ' .. cjson.encode(fields))
end
local function release_held(held, prefix, id)
  local tenant = redis.call('GET', held)
  if tenant then
    redis.call('ZREM', prefix .. tenant, id)
    redis.call('DEL', held)
  end
end
local function id_rest(id)
  return string.sub(id, 66)
end
local function id_head(id)
  return string.sub(id, 1, 65)
end
