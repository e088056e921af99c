-- Functions the queue's scripts share (see redis_access/scripts.py).
-- promote(allowed, rate_limited, concurrency, now, stamp, job_prefix, queue_prefix): fills the rate limit's free
-- slots with its longest-waiting jobs, each pushed onto its queue and marked queued; RQ's own promotion
-- (ACQUIRE_AND_ENQUEUE_SCRIPT in rq/rate_limit.py) over the same keys. Returns how many it promoted.
local function promote(allowed, rate_limited, concurrency, now, stamp, job_prefix, queue_prefix)
  local promoted = 0
  while redis.call('ZCARD', allowed) < concurrency do
    local popped = redis.call('ZPOPMIN', rate_limited)
    if #popped == 0 then break end
    local id = popped[1]
    local key = job_prefix .. id
    local f = redis.call('HMGET', key, 'origin', 'status', 'enqueue_at_front')
    if f[1] and f[2] == 'rate_limited' then  -- else a stale member (its job gone or moved on): dropped
      redis.call('ZADD', allowed, now, id)
      if f[3] == '1' then
        redis.call('LPUSH', queue_prefix .. f[1], id)
      else
        redis.call('RPUSH', queue_prefix .. f[1], id)
      end
      redis.call('HSET', key, 'status', 'queued', 'enqueued_at', stamp)
      promoted = promoted + 1
    end
  end
  return promoted
end
