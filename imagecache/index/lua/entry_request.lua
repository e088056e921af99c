-- Join the live entry for a query, or create a new pending one (single flight); answer with a stale result
-- where the request allows one (stale-while-revalidate, stale-if-error).
-- KEYS[1] query:<digest>   KEYS[2] entry:<new id>   KEYS[3] expiry   KEYS[4] stats (<status>_count: entries in each)
-- KEYS[5] due              KEYS[6] last:<digest> (its last good result)
-- KEYS[7] tenant:<name> of who asks ('' when nobody is accounted: no API keys and no quota)
-- KEYS[8] durations (how long the kind's runs take: when a pending quota frees)   KEYS[9] tenants (names seen)
-- KEYS[10] tenant_held:<name> (its runs going on whose entries were deleted: they count as pending until they end)
-- KEYS[11..16] the keys of the new entry's job draft (enqueue.lua's), when the request carries one
-- ARGV[1] the entry key prefix ("<prefix>entry:")   ARGV[2] new id   ARGV[3] now   ARGV[4] expires_at
-- ARGV[5] max_age (-1: any)   ARGV[6] refresh (1/0)   ARGV[7] canonical query   ARGV[8] when to check its pickup
-- ARGV[9] its job kind   ARGV[10] stale_while_revalidate seconds (-1: none)   ARGV[11] stale_if_error (-1: none)
-- ARGV[12] the request's callback URL ('' none): kept in callbacks:<id> when the entry that answers is pending
-- (entry_complete.lua and entry_fail.lua hand it on when it settles; a settled one is the caller's to call)
-- ARGV[13] the callbacks key prefix ("<prefix>callbacks:")   ARGV[14] the tag key prefix ("<prefix>tag:")
-- ARGV[15] the most tags an entry carries   ARGV[16] the channel that tells every process an entry changed
-- ARGV[17] who asks (the tenant)   ARGV[18] its fresh_per_minute quota   ARGV[19] its pending quota (-1: none)
-- ARGV[20] n, how many of the job draft's args follow (0: no draft)   ARGV[21..20+n] the draft's args: an entry
-- created now (always the new id) has its job enqueued in this same step
-- ARGV[21+n..] the request's tags: given to the entry that answers, to the one it started, and to the refresh
-- under way when a stale result answers; a new entry of the query also takes the tags of the one it replaces
-- (each entry's tags in its `tags` field, as JSON; each tag's entries in tag:<tag>). A request whose tags
-- would take any of those entries past ARGV[15] changes nothing: every tag accepted is one a purge finds.
-- An entry of another job kind is never reused, nor answers as a stale result (a deployment's default kind
-- may change while the query's entries live: the default kind's digest is the query's alone, ids.py).
-- A production the tenant's quotas have no room for is refused, changing nothing but its refusal count; a stale
-- result that would start a refresh answers without one. Each answer counts toward the tenant's figures too.
-- Returns: the id answered, how (created/joined/hit/error/stale), the id of an entry created now ('' if none),
-- then the answered entry's fields as HGETALL gives them; or '', 'tags_full', the number of tags the fullest
-- entry would carry; or '', 'quota', the quota's name, seconds until it has room.
-- Uses checks.lua (id_head, id_rest).
-- Uses imagecache.queueing:enqueue.lua (enqueue_job).
local now, max_age = tonumber(ARGV[3]), tonumber(ARGV[5])

local ID_HEAD = id_head(ARGV[2])
local function id_at(key)
  local rest = redis.call('GET', key)
  return rest and ID_HEAD .. rest
end
local function point(key, id, expires_at)
  redis.call('SET', key, id_rest(id), 'PXAT', math.floor(tonumber(expires_at) * 1000) + 1)
end
local swr, sie = tonumber(ARGV[10]), tonumber(ARGV[11])
local MAX_TAGS = tonumber(ARGV[15])

local function tags_of(id)
  local stored = id and redis.call('HGET', ARGV[1] .. id, 'tags')
  return stored and cjson.decode(stored) or {}
end

-- How many tags an entry would carry with `names` added.
local function count_with(id, names)
  local tags, known = tags_of(id), {}
  for _, name in ipairs(tags) do known[name] = true end
  local count = #tags
  for _, name in ipairs(names) do
    if not known[name] then known[name] = true; count = count + 1 end
  end
  return count
end

local function tag_with(id, names)
  if id == nil or #names == 0 then return end
  local tags, known = tags_of(id), {}
  local before = #tags
  for _, name in ipairs(tags) do known[name] = true end
  for _, name in ipairs(names) do
    if not known[name] then
      known[name] = true
      table.insert(tags, name)
      redis.call('SADD', ARGV[14] .. name, id)
    end
  end
  if #tags > before then
    redis.call('HSET', ARGV[1] .. id, 'tags', cjson.encode(tags))
    redis.call('PUBLISH', ARGV[16], id)  -- processes that remember it settled forget it: its view changed
  end
end

local DRAFTED = tonumber(ARGV[20])
local job_keys, job_args, asked = {}, {}, {}
for i = 11, #KEYS do table.insert(job_keys, KEYS[i]) end
for i = 21, 20 + DRAFTED do table.insert(job_args, ARGV[i]) end
for i = 21 + DRAFTED, #ARGV do table.insert(asked, ARGV[i]) end

local TENANT, RATE, MOST_PENDING = KEYS[7], tonumber(ARGV[18]), tonumber(ARGV[19])
local function count(stat)
  redis.call('HINCRBY', KEYS[4], stat, 1)
  if TENANT ~= '' then redis.call('HINCRBY', TENANT, stat, 1) end
end

-- The tenant's quota a new production would pass, and the whole seconds (1 to 60) until it has room; nil if none.
-- fresh_per_minute is a GCRA: `tat` is when the tenant's productions so far would be paid off at its rate, and a
-- production fits while that is at most a minute ahead (so a minute's worth may come at once).
local function over_quota()
  if TENANT == '' then return nil end
  local held = redis.call('ZCOUNT', KEYS[10], now, '+inf')
  if MOST_PENDING >= 0 and (tonumber(redis.call('HGET', TENANT, 'pending')) or 0) + held >= MOST_PENDING then
    local recent = tonumber(redis.call('HGET', KEYS[8], ARGV[9]))  -- one of its runs should end within about this
    return 'pending', recent and math.min(math.max(math.ceil(recent), 1), 60) or 5
  end
  if RATE == 0 then return 'fresh_per_minute', 60 end
  if RATE > 0 then
    local tat = math.max(tonumber(redis.call('HGET', TENANT, 'tat')) or 0, now)
    local wait = tat + 60 / RATE - now - 60
    if wait > 0 then return 'fresh_per_minute', math.min(math.max(math.ceil(wait), 1), 60) end
  end
  return nil
end

local function refusal(quota, seconds)
  redis.call('HINCRBY', KEYS[4], 'quota_refusals', 1)
  redis.call('HINCRBY', TENANT, 'refused_' .. quota, 1)
  return {'', 'quota', quota, seconds}
end

-- The entries a request may tag: the query's, the new id's (joined when it exists) and, when the request allows a
-- stale answer, its last good result (a new entry takes the tags of the query's one). Checked before any change.
if #asked > 0 then
  local fullest = 0
  local candidates = {id_at(KEYS[1]), ARGV[2]}
  if swr >= 0 or sie >= 0 then table.insert(candidates, id_at(KEYS[6])) end
  for _, id in ipairs(candidates) do
    if id then fullest = math.max(fullest, count_with(id, asked)) end
  end
  if fullest > MAX_TAGS then return {'', 'tags_full', fullest} end
end

local function answer(id, reuse, stat, started, refreshing)
  if stat then count(stat) end
  tag_with(id, asked)
  if started ~= id then tag_with(started, asked) end
  tag_with(refreshing, asked)
  if ARGV[12] ~= '' and redis.call('HGET', ARGV[1] .. id, 'status') == 'pending' then
    redis.call('SADD', ARGV[13] .. id, ARGV[12])
  end
  local out = redis.call('HGETALL', ARGV[1] .. id)
  table.insert(out, 1, started or '')
  table.insert(out, 1, reuse)
  table.insert(out, 1, id)
  return out
end

local function look(id)
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'expires_at', 'completed_at', 'error_until', 'purged_at',
    'job', 'tags')
  return {status = f[1], live = f[1] and tonumber(f[2]) and tonumber(f[2]) > now,
    completed = tonumber(f[3]) or 0, error_until = tonumber(f[4]) or 0, purged = tonumber(f[5]),
    expires_at = f[2], job = f[6], tags = f[7] and cjson.decode(f[7]) or {}}
end

-- Seconds an active result has been stale for this request (0 or less: fresh): since max_age ran out or since
-- it was soft-purged, whichever came first; nil when it never goes stale (no max_age, not purged).
local function staleness(entry)
  local since = nil
  if max_age >= 0 then since = entry.completed + max_age end
  if entry.purged and (since == nil or entry.purged < since) then since = entry.purged end
  if since == nil then return nil end
  return now - since
end

-- The query's last good result, if it may answer within `window` seconds of going stale.
local function last_good(window)
  if window < 0 then return nil end
  local id = id_at(KEYS[6])
  if not id then return nil end
  local entry = look(id)
  if entry.status ~= 'active' or not entry.live or entry.job ~= ARGV[9] then return nil end
  local stale = staleness(entry)
  if stale == nil or stale <= window then return id end
  return nil
end

-- The tenant's part of a new production: one more pending, its rate paid; the entry says whose it is.
local function charge()
  if TENANT == '' then return end
  redis.call('HSET', KEYS[2], 'tenant', ARGV[17])
  redis.call('HINCRBY', TENANT, 'pending', 1)
  redis.call('SADD', KEYS[9], ARGV[17])
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', '(' .. now)  -- runs past their bound: ended, or their worker died
  if RATE > 0 then
    local tat = math.max(tonumber(redis.call('HGET', TENANT, 'tat')) or 0, now)
    redis.call('HSET', TENANT, 'tat', string.format('%.6f', tat + 60 / RATE))
  end
end

local function create(stat, replaced)
  count(stat)
  redis.call('HINCRBY', KEYS[4], 'query_bytes', #ARGV[7])  -- what the index holds for queries (/info)
  redis.call('HSET', KEYS[2], 'status', 'pending', 'created_at', ARGV[3],
    'expires_at', ARGV[4], 'query', ARGV[7], 'attempts', 0, 'enqueued_at', ARGV[3], 'job', ARGV[9])
  charge()
  point(KEYS[1], ARGV[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
  redis.call('HINCRBY', KEYS[4], 'pending_count', 1)
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[2])
  if replaced then tag_with(ARGV[2], replaced.tags) end  -- the query's result, produced anew, keeps its tags
  if DRAFTED > 0 then enqueue_job(job_keys, job_args) end
end

local function remember_good(id, entry)
  point(KEYS[6], id, entry.expires_at)
end

local cur = id_at(KEYS[1])
local replaced = nil
if cur then
  local entry = look(cur)
  replaced = entry
  if entry.live and entry.job ~= ARGV[9] then entry.live = false end  -- another kind's
  if entry.live then
    if entry.status == 'pending' then  -- a fetch is under way: a stale result may answer meanwhile
      local good = last_good(swr)
      if good then return answer(good, 'stale', 'stale_hits', nil, cur) end
      return answer(cur, 'joined', 'dedupes')
    end
    if ARGV[6] ~= '1' then
      if entry.status == 'active' then
        local stale = staleness(entry)
        if stale == nil or stale <= 0 then return answer(cur, 'hit', 'hits') end
        if swr >= 0 and stale <= swr and redis.call('EXISTS', KEYS[2]) == 0 then  -- serve it, refresh it once
          if over_quota() then return answer(cur, 'stale', 'stale_hits') end  -- the refresh waits for room
          remember_good(cur, entry)
          create('refreshes', entry)
          return answer(cur, 'stale', 'stale_hits', ARGV[2])
        end
      end
      if entry.status == 'error' and now < entry.error_until then
        local good = last_good(sie)
        if good then return answer(good, 'stale', 'stale_hits') end
        return answer(cur, 'error', 'error_hits')
      end
    end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return answer(ARGV[2], 'joined', 'dedupes') end
local quota, seconds = over_quota()
if quota then return refusal(quota, seconds) end
if replaced and replaced.live and replaced.status == 'active' then  -- superseded: still good until it expires
  remember_good(cur, replaced)
end
create('misses', replaced)
return answer(ARGV[2], 'created', nil, ARGV[2])
