-- Functions the queue's scripts share (see redis_access/scripts.py).
-- rq_stamp(seconds, micros): a moment (whole seconds and microseconds since the epoch, as TIME gives them) written
-- as RQ writes timestamps (rq.utils.utcformat: 2026-12-08T02:30:00.123456Z, UTC).
-- rq_now(): Redis's own time, in seconds and as RQ's stamp: the worker's scripts date its jobs by one clock.
local function rq_stamp(seconds, micros)
  local days = math.floor(seconds / 86400)
  local clock = seconds - days * 86400
  -- the proleptic Gregorian date of a day count (Howard Hinnant's civil_from_days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', year, month, day, math.floor(clock / 3600),
    math.floor(clock % 3600 / 60), clock % 60, micros)
end

local function rq_now()
  local time = redis.call('TIME')
  local seconds, micros = tonumber(time[1]), tonumber(time[2])
  return seconds + micros / 1e6, rq_stamp(seconds, micros)
end
