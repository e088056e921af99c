-- Functions the queue's scripts share (see redis_access/scripts.py); the index's request script uses it too, to
-- enqueue a new entry's job in the step that creates the entry.
-- enqueue_job(keys, args): save a new RQ job behind its rate limit and let it in if a slot is free: RQ's
-- rate-limited enqueue (Queue._enqueue_rate_limited_job) in one step, its place in line fair across tenants.
-- keys[1] the job's key   keys[2] the limit's allowed set   keys[3] its rate_limited set   keys[4] its config hash
-- keys[5] RQ's set of rate limit keys   keys[6] the limit's fair-share tags (t:<tenant> -> its last job's tag,
-- 'top' the highest given, 'v' the line's virtual time: below it every tag has left the line; it only goes up)
-- args[1] the job id   args[2] now (seconds)   args[3] now as RQ writes timestamps   args[4] the limit's key
-- args[5] its concurrency   args[6] the job key prefix   args[7] the queue key prefix   args[8] the tenant
-- args[9..] the job's fields as name, value pairs (as RQ saves them, status rate_limited)
-- Returns 1 when the job was let into its queue at once, 0 when it waits for a slot.
--
-- Waiting jobs are ordered by a tag, not by when they came (start-time fair queuing): a tenant's job is tagged one
-- past the later of its own last job's tag and the line's virtual time less the kind's cap. So a tenant new to the
-- line takes the next round of slots (the others' runs in flight were their round), newcomers sharing it in turn,
-- and from then on each tenant's jobs take turns with every other's, one each per turn, whatever their backlogs;
-- with one tenant the line is first come, first served. The virtual time is read off the line's head at each
-- enqueue and never goes back, so a newcomer's tags never jump ahead of an earlier newcomer's.
-- Uses promote.lua
local function enqueue_job(keys, args)
  redis.call('DEL', keys[1])  -- a job enqueued again under its id starts afresh: its lost run holds no slot
  redis.call('ZREM', keys[2], args[1])
  redis.call('ZREM', keys[3], args[1])
  redis.call('HSET', keys[1], unpack(args, 9))
  redis.call('SADD', keys[5], args[4])
  redis.call('HSET', keys[4], 'concurrency', args[5])
  local head = redis.call('ZRANGE', keys[3], 0, 0, 'WITHSCORES')
  local fair = redis.call('HMGET', keys[6], 't:' .. args[8], 'top', 'v')
  local last, top, v = tonumber(fair[1]) or 0, tonumber(fair[2]) or 0, tonumber(fair[3]) or 0
  v = math.max(v, head[2] and (tonumber(head[2]) - 1) or top)
  local tag = math.max(v - tonumber(args[5]), last) + 1
  redis.call('HSET', keys[6], 't:' .. args[8], tag, 'top', math.max(tag, top), 'v', v)
  redis.call('ZADD', keys[3], tag, args[1])
  promote(keys[2], keys[3], tonumber(args[5]), args[2], args[3], args[6], args[7])
  if redis.call('HGET', keys[1], 'status') == 'queued' then return 1 end
  return 0
end
