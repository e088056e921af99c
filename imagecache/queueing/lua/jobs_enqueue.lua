-- Save a new RQ job behind its rate limit and let it in if a slot is free: RQ's rate-limited enqueue
-- (Queue._enqueue_rate_limited_job) in one call, its place in line fair across tenants.
-- KEYS[1] the job's key   KEYS[2] the limit's allowed set   KEYS[3] its rate_limited set   KEYS[4] its config hash
-- KEYS[5] RQ's set of rate limit keys   KEYS[6] the limit's fair-share tags (t:<tenant> -> its last job's tag,
-- 'top' the highest given, 'v' the line's virtual time: below it every tag has left the line; it only goes up)
-- ARGV[1] the job id   ARGV[2] now (seconds)   ARGV[3] now as RQ writes timestamps   ARGV[4] the limit's key
-- ARGV[5] its concurrency   ARGV[6] the job key prefix   ARGV[7] the queue key prefix   ARGV[8] the tenant
-- ARGV[9..] the job's fields as name, value pairs (as RQ saves them, status rate_limited)
-- Uses promote.lua
-- Returns 1 when the job was let into its queue at once, 0 when it waits for a slot.
--
-- Waiting jobs are ordered by a tag, not by when they came (start-time fair queuing): a tenant's job is tagged one
-- past the later of its own last job's tag and the line's virtual time less the kind's cap. So a tenant new to the
-- line takes the next round of slots (the others' runs in flight were their round), newcomers sharing it in turn,
-- and from then on each tenant's jobs take turns with every other's, one each per turn, whatever their backlogs;
-- with one tenant the line is first come, first served. The virtual time is read off the line's head at each
-- enqueue and never goes back, so a newcomer's tags never jump ahead of an earlier newcomer's.
redis.call('DEL', KEYS[1])  -- a job enqueued again under its id starts afresh: its lost run holds no slot
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('HSET', KEYS[4], 'concurrency', ARGV[5])
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local fair = redis.call('HMGET', KEYS[6], 't:' .. ARGV[8], 'top', 'v')
local last, top, v = tonumber(fair[1]) or 0, tonumber(fair[2]) or 0, tonumber(fair[3]) or 0
v = math.max(v, head[2] and (tonumber(head[2]) - 1) or top)
local tag = math.max(v - tonumber(ARGV[5]), last) + 1
redis.call('HSET', KEYS[6], 't:' .. ARGV[8], tag, 'top', math.max(tag, top), 'v', v)
redis.call('ZADD', KEYS[3], tag, ARGV[1])
promote(KEYS[2], KEYS[3], tonumber(ARGV[5]), ARGV[2], ARGV[3], ARGV[6], ARGV[7])
if redis.call('HGET', KEYS[1], 'status') == 'queued' then return 1 end
return 0
