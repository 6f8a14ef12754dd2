--- @include "policy"
-- heartbeat.lua: the whole decision for one heartbeat, atomic per user (docs/architecture.md).
-- KEYS[1] entries (sorted set)  KEYS[2] details (hash)  KEYS[3] override (hash)
-- ARGV[1] 'request' (license-request and license-renewal) | 'release'
-- ARGV[2] sessionId  ARGV[3] deviceId or ''  ARGV[4] drm letter  ARGV[5] contentId or ''
-- ARGV[6] requested plan or ''  ARGV[7] default plan  ARGV[8] plan table
-- ARGV[9] entries a user may hold at least (USHER_MAX_ENTRIES_PER_USER)
-- ARGV[10] sessions one device may hold under countBy device (USHER_MAX_SESSIONS_PER_DEVICE)
-- ARGV[11] 'persistent' (a download: downloads.lua) or '' (streaming)
-- ARGV[12] ttl ms and ARGV[13] maxStreams of the plan usher resolved (the requested or the
--   default plan), set only when that plan may take the fast renewal (counted by session and
--   nothing more to check); else ''
-- KEYS[4] downloads (sorted set)  KEYS[5] download details (hash)
-- Returns the live slot count alone for a fast renewal (allow renewed under that plan), else
--   { decision, reason, plan, countBy, maxStreams, activeStreams, interval, grace,
--     sessions, cause, removedSlots, downloadLapseMs }
--   downloadLapseMs: for an allowed persistent licence, ms until the download lapses
--   decision: 'allow' | 'deny' | 'invalid' (reason 'device_required'; nothing was written)
--   sessions: the evicted sessions on allow, the conflicting ones on deny (see describe)
--   cause: '' | 'evict_oldest' | 'limit_lowered', for the removedSlots slots this call ended
local sessionId, deviceId, drm, contentId = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = nowMs()

-- The steady state first, before anything else is defined or parsed (each costs Redis CPU on
-- every call): a live session of a user without override, within the limit of a plan usher
-- found eligible, renews with five commands and answers its live slot count. Lapsed entries
-- are left for the next call that writes more.
if ARGV[12] ~= '' and ARGV[1] ~= 'release' and redis.call('EXISTS', KEYS[3]) == 0 then
  local ttl = tonumber(ARGV[12])
  local cutoff = now - ttl
  local score = redis.call('ZSCORE', KEYS[1], sessionId)
  if score and tonumber(score) > cutoff then
    local count = redis.call('ZCOUNT', KEYS[1], '(' .. cutoff, '+inf')
    if count <= tonumber(ARGV[13]) then
      redis.call('ZADD', KEYS[1], now, sessionId)
      redis.call('PEXPIRE', KEYS[1], ttl)
      redis.call('PEXPIRE', KEYS[2], ttl)
      return count
    end
  end
end

local policy = resolvePolicy(KEYS[3], ARGV[6], ARGV[7], ARGV[8], now)

local function answer(decision, reason, active, sessions, cause, removedSlots)
  return { decision, reason, policy.name, policy.countBy, policy.maxStreams, active,
           policy.interval, policy.grace, sessions or {}, cause or '', removedSlots or 0 }
end

--- @include "sessions"
--- @include "downloads"
local u = openUser(KEYS[1], KEYS[2], policy, now)

-- A persistent licence is a download: counted apart from streams, never against maxStreams.
if ARGV[11] == 'persistent' then
  pruneLapsed(u)
  local active = liveSlotCount(u)
  local lifeMs = policy.downloadDays * 86400000
  local function allowDownload(reason, lapseMs)
    local reply = answer('allow', reason, active)
    reply[12] = lapseMs
    return reply
  end
  if policy.maxDownloads < 0 then -- this plan does not count downloads: nothing is stored
    if ARGV[1] == 'release' then return answer('allow', 'released', active) end
    return allowDownload('admitted', lifeMs)
  end
  local w = openDownloads(KEYS[4], KEYS[5], now)
  pruneDownloads(w)
  if ARGV[1] == 'release' then
    endDownload(w, sessionId)
    return answer('allow', 'released', active)
  end
  local lapsesAt = redis.call('ZSCORE', w.key, sessionId)
  if lapsesAt then return allowDownload('renewed', tonumber(lapsesAt) - now) end
  if redis.call('ZCARD', w.key) < policy.maxDownloads then
    recordDownload(w, sessionId, now + lifeMs, drm, deviceId, contentId)
    return allowDownload('admitted', lifeMs)
  end
  local conflicts = {}
  for i, row in ipairs(loadDownloads(w)) do conflicts[i] = { unpack(row, 2) } end
  return answer('deny', 'download_limit_exceeded', active, conflicts)
end
-- sessions and revocations together, whatever arrives
local bound = math.max(tonumber(ARGV[9]), 2 * policy.maxStreams)

if ARGV[1] ~= 'release' and policy.countBy == 'device' and deviceId == '' then
  return answer('invalid', 'device_required', 0)
end

pruneLapsed(u)
local state = stateOf(u, sessionId)

if ARGV[1] == 'release' then
  if state == 'live' then
    removeSession(u, sessionId)
    fitTtl(u)
  end
  return answer('allow', 'released', liveSlotCount(u))
end

if state == 'revoked' then return answer('deny', 'session_revoked', liveSlotCount(u)) end

-- A new session of a user within the limit reads no details: under countBy session every
-- session is a slot. (It finds room among revocations: it leaves fewer than maxStreams live
-- sessions, half the bound at most.)
if policy.countBy == 'session' then
  local count = liveSessionCount(u)
  if not state and count < policy.maxStreams then
    local removed = makeRoom(u, bound, deviceId)
    if removed then
      recordSession(u, sessionId, drm, deviceId, contentId)
      return answer('allow', 'admitted', count + 1 - removed)
    end
  end
end

local sessions, byId = loadSessions(u)
local slots, byKey = groupSlots(policy, sessions)
local known = byId[sessionId]
if known then deviceId = known.deviceId end
local mine = byKey[slotKeyOf(policy, sessionId, deviceId)]

local function denyNoRoom()
  sortSlots(slots, false)
  return answer('deny', 'limit_exceeded', #slots, describeSlots(slots, 1, #slots, {}))
end

if mine then
  -- A live slot keeps playing only while it ranks within maxStreams (oldest first under
  -- reject-new, newest first under evict-oldest).
  local fits = #slots <= policy.maxStreams
  if not fits then
    sortSlots(slots, policy.onLimit == 'evict-oldest')
    for rank, slot in ipairs(slots) do
      if slot == mine then fits = rank <= policy.maxStreams break end
    end
  end
  if fits then
    if known then
      touchSession(u, sessionId)
      return answer('allow', 'renewed', #slots)
    end
    -- A new session on a live device slot: within the device's bound, then the user's.
    capDeviceSessions(u, mine.sessions, tonumber(ARGV[10]))
    if not makeRoom(u, bound, deviceId) then return denyNoRoom() end
    recordSession(u, sessionId, drm, deviceId, contentId)
    return answer('allow', 'renewed', #slots)
  end
  for _, s in ipairs(mine.sessions) do revokeSession(u, s.id) end
  if not known and makeRoom(u, bound, '') then revokeSession(u, sessionId) end
  redis.call('PEXPIRE', u.entries, u.ttl)
  return answer('deny', 'limit_exceeded', #slots - 1,
    describeSlots(slots, 1, policy.maxStreams, {}), 'limit_lowered', 1)
end

local active = #slots
if active < policy.maxStreams then
  local removed = makeRoom(u, bound, deviceId)
  if not removed then return denyNoRoom() end
  recordSession(u, sessionId, drm, deviceId, contentId)
  return answer('allow', 'admitted', active + 1 - removed)
end
if policy.onLimit == 'evict-oldest' and policy.maxStreams > 0 then
  sortSlots(slots, false)
  local count = active - policy.maxStreams + 1
  local evicted = describeSlots(slots, 1, count, {})
  for _, row in ipairs(evicted) do revokeSession(u, row[1]) end
  -- the revocations just made leave room for one more entry
  makeRoom(u, bound, '')
  recordSession(u, sessionId, drm, deviceId, contentId)
  return answer('allow', 'admitted', policy.maxStreams, evicted, 'evict_oldest', count)
end
return denyNoRoom()
