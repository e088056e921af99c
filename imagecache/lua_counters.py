"""Lua shared by the index scripts: byte counters that are right for every size.

Sizes are stored as decimal strings. Redis refuses `HINCRBY key field -0`
(what `-tonumber('0')` sends), and a Lua number loses digits past 2^53, so a
size is subtracted by negating its string. `valid_size` lets a script check a
stored size before its first write: an error after a write would leave the
script half-applied, since Redis does not roll a script back.
"""

COUNTERS = """
local function valid_size(value)
  return value ~= nil and value ~= false and string.match(value, '^%d+$') ~= nil
end
local function uncount(hash, field, size)
  if tonumber(size) ~= 0 then redis.call('HINCRBY', hash, field, '-' .. size) end
end
"""
