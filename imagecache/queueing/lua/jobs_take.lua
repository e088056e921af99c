-- Take up to ARGV[1] jobs off the head of an RQ queue and mark them started, as RQ's worker does (in one call).
-- KEYS[1] the queue's list   KEYS[2] its started registry
-- ARGV[1] how many   ARGV[2] the worker's name   ARGV[3] the job key prefix   ARGV[4] the execution id (the worker's
-- lease)   ARGV[5] seconds past a job's timeout before RQ's cleanup may call it abandoned
-- The time is Redis's own, so a take sent behind a wait for work (job_batches.py) starts its jobs when it runs.
-- Uses rq_stamp.lua
-- Returns the jobs' started stamp (which finishing them checks), then for each job taken: its id, its data (RQ's
-- serialized call), its timeout in seconds.
-- A popped id whose job is gone or no longer queued (deleted, canceled) is dropped, as RQ's dequeue drops it.
local now, stamp = rq_now()
local taken = {stamp}
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then return taken end
local grace = tonumber(ARGV[5])
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local f = redis.call('HMGET', key, 'status', 'data', 'timeout')
  if f[1] == 'queued' and f[2] then
    local timeout = tonumber(f[3]) or 180
    redis.call('HSET', key, 'status', 'started', 'started_at', stamp, 'last_heartbeat', stamp,
      'worker_name', ARGV[2], 'imagecache_lease', ARGV[4])
    redis.call('ZADD', KEYS[2], now + timeout + grace, id .. ':' .. ARGV[4])
    table.insert(taken, id)
    table.insert(taken, f[2])
    table.insert(taken, tostring(timeout))
  end
end
return taken
