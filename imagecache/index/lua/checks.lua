-- Functions the index scripts share (prepended to every script; see index/scripts.py).
-- valid_size(v): v is a decimal size. finite(v): v is a finite number.
-- uncount(hash, field, size): subtracts a stored size exactly (never HINCRBY by -0, exact past 2^53).
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
