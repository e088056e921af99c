-- Save a new RQ job behind its rate limit and let it in if a slot is free (enqueue.lua says how).
-- KEYS enqueue_job's keys
-- ARGV enqueue_job's args
-- Uses enqueue.lua
-- Returns 1 when the job was let into its queue at once, 0 when it waits for a slot.
return enqueue_job(KEYS, ARGV)
