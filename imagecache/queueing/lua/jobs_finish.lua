-- Finish jobs, as RQ's worker does for jobs kept for no time after success (result_ttl 0): a finished job is
-- deleted, a failed one kept in the failed registry; either frees its upstream slot, and the longest-waiting
-- rate-limited jobs take the free slots.
-- KEYS[1] the queue's started registry   KEYS[2] its failed registry   KEYS[3] the rate limit's allowed set
-- KEYS[4] its rate_limited set
-- ARGV[1] the job key prefix   ARGV[2] the queue key prefix   ARGV[3] the execution id   ARGV[4] seconds a failed
-- job is kept   ARGV[5] the limit's concurrency
-- ARGV[6], ARGV[7], ARGV[8], ...: per job its id, the stamp it was started with (jobs_take.lua), then '' when it
-- finished or the failure's description. A job no longer in the run that was taken (enqueued again meanwhile,
-- by recovery) is left alone: its slot and its registry entry are the new run's.
-- The time is Redis's own, as the take's is: a job ends on the clock it started on.
-- Uses promote.lua
-- Uses rq_stamp.lua
-- Returns the number of jobs promoted into their queue.
local now, now_stamp = rq_now()
for i = 6, #ARGV, 3 do
  local id, started, failure = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'status', 'imagecache_lease', 'started_at')
  if f[1] == 'started' and f[2] == ARGV[3] and f[3] == started then
    redis.call('ZREM', KEYS[1], id .. ':' .. ARGV[3])
    if failure == '' then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'status', 'failed', 'ended_at', now_stamp, 'exc_info', failure)
      redis.call('EXPIRE', key, ARGV[4])
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), id)
    end
    redis.call('ZREM', KEYS[3], id)
  end
end
return promote(KEYS[3], KEYS[4], tonumber(ARGV[5]), now, now_stamp, ARGV[1], ARGV[2])
