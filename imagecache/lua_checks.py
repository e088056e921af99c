"""Lua functions the index scripts share: checks before the first write, counters right for every size.

Redis does not roll a script back, so a script that fails after a write stays
half-applied: each script checks what it read (`valid_size`, `finite`)
before it writes anything, and updates the byte counters (the writes most
likely to fail) first. Sizes are stored as decimal strings. Redis refuses
`HINCRBY key field -0` (what `-tonumber('0')` sends), and a Lua number loses
digits past 2^53, so `uncount` subtracts a size by negating its string.
"""

CHECKS_AND_COUNTERS = """
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
"""
