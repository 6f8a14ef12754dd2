-- sessions.lua: a user's sessions and revocations (included by every per-user script).
-- Two keys per user, both under the user's hash tag (docs/architecture.md, "Key layout"):
--   entries  sorted set, member = session id. score > 0: a live session last seen at that Redis
--            millisecond; score < 0: a revocation made at -score. Both lapse policy.ttl after
--            |score|, so the lapsed entries of both kinds are the one score range
--            [-cutoff, cutoff] (cutoff = now - ttl).
--            And the no-override marker NO_OVERRIDE (policy.lua), scored -D: not an entry; every
--            reader below skips it (by score range, or by name where it reads by rank or count).
--   details  hash, session id -> "<drm letter><startedAt><deviceId>|<contentId>" for every live
--            session and nothing else, written when the session is admitted. startedAt is the
--            Redis millisecond in 8 base-36 digits: with ids of usual lengths (UUID device ids,
--            short content ids) a value stays within the 64 bytes of Redis' compact hash
--            encoding (docs/performance.md, "Memory").
-- TTLs (settleTtl): without an override both keys expire at the marker's D, a lease that every
-- write keeps at least one ttl ahead; with one, every write gives each key a TTL no longer than
-- its longest-lived member needs. Either way the details never expire before the entries.

local BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz'

-- 8 base-36 digits (enough for every millisecond until the year 5188).
local function base36(ms)
  local digits = {}
  for i = 8, 1, -1 do
    local d = ms % 36
    digits[i] = string.sub(BASE36, d + 1, d + 1)
    ms = (ms - d) / 36
  end
  return table.concat(digits)
end

-- u.marker: the marker's D (a number), false without a marker, nil while not read.
-- u.loaded: the sessions loadSessions found; u.gone: the ids this call removed or revoked.
local function openUser(entriesKey, detailsKey, policy, now)
  return { entries = entriesKey, details = detailsKey, policy = policy, now = now,
           ttl = policy.ttl, cutoff = now - policy.ttl, marker = nil, loaded = {}, gone = {} }
end

-- The marker's score as read (false: none) as u.marker.
local function noteMarker(u, score)
  u.marker = score and -tonumber(score)
end

-- The marker's D, or false without one (read once per call).
local function markerOf(u)
  if u.marker == nil then noteMarker(u, redis.call('ZSCORE', u.entries, NO_OVERRIDE)) end
  return u.marker
end

-- Drops every lapsed entry and the details of lapsed sessions: one ZRANGE when nothing lapsed.
-- (A marker whose D is more than a ttl past is in that range too, and goes with it.)
local function pruneLapsed(u)
  local lapsed = redis.call('ZRANGE', u.entries, -u.cutoff, u.cutoff, 'BYSCORE')
  if #lapsed > 0 then
    redis.call('ZREMRANGEBYSCORE', u.entries, -u.cutoff, u.cutoff)
    redis.call('HDEL', u.details, unpack(lapsed))
    if u.marker and u.marker <= u.cutoff then u.marker = false end
  end
end

-- pruneLapsed and readLive in one read: drops every lapsed entry (and the details of lapsed
-- sessions) and returns the live entries as readLive does, valid until the next write.
local function pruneAndReadLive(u)
  local flat = redis.call('ZRANGE', u.entries, -u.cutoff, '+inf', 'BYSCORE', 'WITHSCORES')
  local first = 1 -- the first live entry (the lapsed ones come before it)
  while first < #flat and tonumber(flat[first + 1]) <= u.cutoff do first = first + 2 end
  if first == 1 then return flat end
  local lapsed, live = {}, {}
  for i = 1, first - 2, 2 do lapsed[#lapsed + 1] = flat[i] end
  for i = first, #flat do live[#live + 1] = flat[i] end
  redis.call('ZREMRANGEBYSCORE', u.entries, -u.cutoff, u.cutoff)
  redis.call('HDEL', u.details, unpack(lapsed))
  if u.marker and u.marker <= u.cutoff then u.marker = false end
  return live
end

-- 'live', 'revoked' or nil for an entry's score (false: no entry), lapsed entries as none.
local function stateOfScore(u, score)
  if not score then return nil end
  score = tonumber(score)
  if score > u.cutoff then return 'live' end
  if score < -u.cutoff then return 'revoked' end
  return nil
end

-- 'live', 'revoked' or nil for a session id (and the marker noted, in the same command).
local function stateOf(u, id)
  local scores = redis.call('ZMSCORE', u.entries, id, NO_OVERRIDE)
  noteMarker(u, scores[2])
  return stateOfScore(u, scores[1])
end

local function liveSessionCount(u)
  return redis.call('ZCOUNT', u.entries, '(' .. u.cutoff, '+inf')
end

-- The live entries as { id, lastSeenAt, ... }, least recently seen first.
local function readLive(u)
  return redis.call('ZRANGE', u.entries, '(' .. u.cutoff, '+inf', 'BYSCORE', 'WITHSCORES')
end

-- The live sessions, least recently seen first, and the same by id. flat: readLive's answer, when
-- the caller has it and nothing was written since.
local function loadSessions(u, flat)
  flat = flat or readLive(u)
  local sessions, byId, ids = {}, {}, {}
  u.loaded = sessions
  if #flat == 0 then return sessions, byId end
  for i = 1, #flat, 2 do ids[#ids + 1] = flat[i] end
  local details = redis.call('HMGET', u.details, unpack(ids))
  for i, id in ipairs(ids) do
    local lastSeenAt = tonumber(flat[2 * i])
    local drm, startedAt, deviceId, contentId =
      string.match(details[i] or '', '^(%a)(%w%w%w%w%w%w%w%w)([^|]*)|(.*)$')
    local s = { id = id, lastSeenAt = lastSeenAt,
                startedAt = startedAt and tonumber(startedAt, 36) or lastSeenAt,
                drm = drm or 'w', deviceId = deviceId or '', contentId = contentId or '',
                hasDetails = details[i] ~= false }
    sessions[i] = s
    byId[id] = s
  end
  return sessions, byId
end

local function slotKeyOf(policy, sessionId, deviceId)
  if policy.countBy == 'device' and deviceId ~= '' then return 'd:' .. deviceId end
  return 's:' .. sessionId
end

-- Groups sessions into slots (a slot starts with its earliest session).
local function groupSlots(policy, sessions)
  local slots, byKey = {}, {}
  for _, s in ipairs(sessions) do
    local key = slotKeyOf(policy, s.id, s.deviceId)
    local slot = byKey[key]
    if not slot then
      slot = { key = key, startedAt = s.startedAt, sessions = {} }
      byKey[key] = slot
      slots[#slots + 1] = slot
    elseif s.startedAt < slot.startedAt then
      slot.startedAt = s.startedAt
    end
    slot.sessions[#slot.sessions + 1] = s
  end
  return slots, byKey
end

local function liveSlotCount(u)
  if u.policy.countBy == 'session' then return liveSessionCount(u) end
  local slots = groupSlots(u.policy, (loadSessions(u)))
  return #slots
end

-- Oldest start first, or newest first; ties broken by key so every caller ranks alike.
local function sortSlots(slots, newestFirst)
  table.sort(slots, function(a, b)
    if a.startedAt ~= b.startedAt then
      if newestFirst then return a.startedAt > b.startedAt end
      return a.startedAt < b.startedAt
    end
    return a.key < b.key
  end)
end

-- One session as the replies carry it: SESSION_ROW { sessionId, deviceId, drm, contentId,
-- startedAt, lastSeenAt } (src/sessions/script-replies.ts), '' for a missing id.
local function describe(s)
  return { s.id, s.deviceId, s.drm, s.contentId, s.startedAt, s.lastSeenAt }
end

local function describeSlots(slots, first, last, out)
  for i = first, last do
    for _, s in ipairs(slots[i].sessions) do out[#out + 1] = describe(s) end
  end
  return out
end

-- A live session seen now. The caller then settles the keys' TTLs (settleTtl).
local function touchSession(u, id)
  redis.call('ZADD', u.entries, u.now, id)
  u.written, u.touched = true, true
end

-- A new session, started and seen now (its details may start a new hash: one without a TTL).
local function recordSession(u, id, drm, deviceId, contentId)
  redis.call('HSET', u.details, id, drm .. base36(u.now) .. deviceId .. '|' .. contentId)
  u.recorded = true
  touchSession(u, id)
end

-- Whether the details hash existed before this call wrote to it and still does: some details
-- loadSessions found belong to a session this call has not removed (then it has its TTL).
local function detailsKept(u)
  for _, s in ipairs(u.loaded) do
    if s.hasDetails and not u.gone[s.id] then return true end
  end
  return false
end

-- After a call's writes (u.written: an entry made now; u.touched: a session seen now;
-- u.recorded: details written, perhaps into a new hash, one without a TTL). With an override in
-- force the entries get one ttl, the details too when a session was seen, and there is no marker.
-- Without one both keys expire at the marker's D, renewed to now + (1 + LEASE_TTLS) ttls once
-- less than one ttl of it is left; a details hash this call may have started gets D too.
local function settleTtl(u)
  if u.policy.overridden then
    if u.written then redis.call('PEXPIRE', u.entries, u.ttl) end
    if u.touched then redis.call('PEXPIRE', u.details, u.ttl) end
    if markerOf(u) then
      redis.call('ZREM', u.entries, NO_OVERRIDE)
      u.marker = false
    end
    return
  end
  local lease = markerOf(u)
  if lease and lease - u.now >= u.ttl then
    if u.recorded and not detailsKept(u) then redis.call('PEXPIREAT', u.details, lease) end
    return
  end
  lease = u.now + u.ttl * (1 + LEASE_TTLS)
  redis.call('PEXPIREAT', u.entries, lease)
  redis.call('PEXPIREAT', u.details, lease)
  redis.call('ZADD', u.entries, -lease, NO_OVERRIDE)
  u.marker = lease
end

local function removeSession(u, id)
  redis.call('ZREM', u.entries, id)
  redis.call('HDEL', u.details, id)
  u.gone[id] = true
end

-- Ends a session now (live or not) and denies its heartbeats for one ttl. The caller then
-- settles the TTLs (a revocation made now needs one ttl: settleTtl), once for all it revoked.
local function revokeSession(u, id)
  redis.call('ZADD', u.entries, -u.now, id)
  redis.call('HDEL', u.details, id)
  u.written, u.gone[id] = true, true
end

-- After removals: with the marker both keys keep its lease; else each key's TTL shrinks to what
-- its newest member needs. Entries reduced to the marker go. Returns whether any entry is left.
local function fitTtl(u)
  local lowest = redis.call('ZRANGE', u.entries, 0, 1, 'WITHSCORES')
  if lowest[1] == NO_OVERRIDE then
    noteMarker(u, lowest[2])
    if lowest[3] then return true end
    redis.call('DEL', u.entries)
    u.marker = false
    return false
  end
  if not lowest[1] then return false end
  if markerOf(u) then return true end
  local highest = redis.call('ZRANGE', u.entries, -1, -1, 'WITHSCORES')
  local newest = math.max(tonumber(highest[2]), -tonumber(lowest[2]))
  local newestLive = tonumber(highest[2])
  if newestLive > 0 then redis.call('PEXPIRE', u.details, newestLive + u.ttl - u.now) end
  redis.call('PEXPIRE', u.entries, newest + u.ttl - u.now)
  return true
end

-- Makes room for one more entry within the user's bound (docs/architecture.md, "Bounds"): the
-- revocation that lapses first goes first, else the least recently seen session of deviceId.
-- Returns the number of live sessions removed, or nil when there is no room (nothing removed
-- then beyond revocations).
local function makeRoom(u, bound, deviceId)
  local entries = redis.call('ZCARD', u.entries)
  if markerOf(u) then entries = entries - 1 end -- the marker is no entry
  local removed, sessions = 0, nil
  while entries >= bound do
    -- (the marker may come first only when its D is past: then the second is the revocation)
    local negative = redis.call('ZRANGE', u.entries, '(0', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 2)
    local revocation = negative[1]
    if revocation == NO_OVERRIDE then revocation = negative[2] end
    if revocation then
      redis.call('ZREM', u.entries, revocation)
    else
      if deviceId == '' then return nil end
      sessions = sessions or loadSessions(u)
      local victim
      for _, s in ipairs(sessions) do
        if s.deviceId == deviceId and not s.removed then victim = s break end
      end
      if not victim then return nil end
      victim.removed = true
      removeSession(u, victim.id)
      removed = removed + 1
    end
    entries = entries - 1
  end
  return removed
end

-- Keeps one device under its bound of sessions before it gains one: its least recently seen go.
local function capDeviceSessions(u, deviceSessions, perDevice)
  local sorted = {}
  for i, s in ipairs(deviceSessions) do sorted[i] = s end
  table.sort(sorted, function(a, b) return a.lastSeenAt < b.lastSeenAt end)
  for i = 1, #sorted - perDevice + 1 do removeSession(u, sorted[i].id) end
end
