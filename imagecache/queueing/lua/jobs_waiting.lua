-- Which of these jobs still wait or run: queued or rate-limited, or started by a worker whose lease is alive. A
-- job started by a worker that died before claiming its entry leaves no lease on the entry to recover it by; this
-- is how recovery finds it. A job RQ's own workers started carries no lease and is taken at its status.
-- KEYS none: every key is built from ARGV's prefixes
-- ARGV[1] the job key prefix   ARGV[2] the lease key prefix   ARGV[3..] the job ids
-- Returns 1 (waits or runs) or 0, per job id.
local out = {}
for i = 3, #ARGV do
  local f = redis.call('HMGET', ARGV[1] .. ARGV[i], 'status', 'imagecache_lease')
  local live = f[1] == 'queued' or f[1] == 'rate_limited'
  if f[1] == 'started' then live = not f[2] or redis.call('EXISTS', ARGV[2] .. f[2]) == 1 end
  table.insert(out, live and 1 or 0)
end
return out
