-- A running job's progress on its pending entry; wakes its waiters with the entry's fields (a pending entry:
-- they keep waiting, and event streams pass the progress on).
-- KEYS[1] entry:<id>
-- ARGV[1] id   ARGV[2] fraction (0 to 1)   ARGV[3] message   ARGV[4] channel
-- Uses checks.lua
-- Returns 1 when noted, 0 when the entry is not pending (settled or gone: nothing is added to it).
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2], 'progress_message', ARGV[3])
announce(ARGV[4], ARGV[1], KEYS[1], 'query')  -- a report a second, to every web process: kept small
return 1
