--- @include "marker"
-- heartbeat.lua: the whole decision for one heartbeat, atomic per user (docs/architecture.md;
-- the rollout and fairness controls: docs/admin-api.md, "Rollout and fairness controls").
-- KEYS[1] entries (sorted set)  KEYS[2] details (hash)  KEYS[3] override (hash)
-- KEYS[4] downloads (sorted set)  KEYS[5] download details (hash)
-- KEYS[6] devices (sorted set)  KEYS[7] device first-seen (hash) (controls.lua)
-- Constants ahead of this file (src/sessions/heartbeat-script.ts heartbeatScript: one script per
-- version of the plans): PLAN_TABLE, DEFAULT_PLAN, MAX_ENTRIES_PER_USER (USHER_MAX_ENTRIES_PER_USER:
-- entries a user may hold at least), MAX_SESSIONS_PER_DEVICE (USHER_MAX_SESSIONS_PER_DEVICE:
-- sessions one device may hold under countBy device).
-- ARGV[1] sessionId
-- ARGV[2] ttl ms and ARGV[3] maxStreams of the plan usher resolved (the requested or the default
--   plan), set only when that plan may take the fast renewal (a streaming request or renewal,
--   counted by session, no rollout control to apply); else ''
-- ARGV[4] the rest, read only past the fast renewal, space-separated:
--   "<'request' (license-request, license-renewal) | 'release'> <drm letter> <deviceId or ''>
--    <contentId or ''> <requested plan or ''> <'persistent' (a download: downloads.lua) or ''>
--    <takeoverSessionId (license-request only) or ''>"
-- Returns the live slot count alone for a fast renewal (allow renewed under that plan), else
--   HEARTBEAT_REPLY { decision, reason, plan, countBy, maxStreams, activeStreams, interval,
--     grace, sessions, cause, removedSlots, downloadLapseMs, takenOver, shadow, devices }
--   (the field tables are in src/sessions/script-replies.ts: change both together)
--   decision: 'allow' | 'deny' | 'invalid' (reason 'device_required' or 'devices_required':
--             a deviceId is needed; nothing was written)
--   sessions: the evicted sessions on allow, the conflicting ones on deny (see describe)
--   cause: '' | 'evict_oldest' | 'limit_lowered' | 'handoff', for the removedSlots slots ended
--   (the last four only when an answer needs one of them: the reply may end after cause, removedSlots)
--   downloadLapseMs: for an allowed persistent licence, ms until the download lapses, else 0
--   takenOver: the session a takeover revoked ({} or one row as describe)
--   shadow: under a shadow plan SHADOW_VERDICT { decision, reason, evicted } that enforcement
--           would have answered (nothing of it was done), else {}
--   devices: on device_limit_exceeded the registered devices (controls.lua listDevices), else {}
local now = nowMs()

-- One command reads the session's score and the no-override marker (marker.lua), for every call.
local seen = redis.call('ZMSCORE', KEYS[1], ARGV[1], NO_OVERRIDE)
local scoreSeen, markerSeen = seen[1], seen[2]

-- The steady state first, before anything else is defined or parsed (each costs Redis CPU on
-- every call): a live session of a user without override (the marker), within the limit of a
-- plan usher found eligible, renews with two more commands and answers its live slot count.
-- Both keys expire at the marker's D: three more commands renew that lease once less than one
-- ttl of it is left (once in LEASE_TTLS ttls). Lapsed entries are left for the next call that
-- writes more.
if markerSeen and scoreSeen and ARGV[2] ~= '' then
  local ttl = tonumber(ARGV[2])
  local cutoff = now - ttl
  if tonumber(scoreSeen) > cutoff then
    local count = redis.call('ZCOUNT', KEYS[1], cutoff + 1, '+inf') -- (scores are whole ms)
    if count <= tonumber(ARGV[3]) then
      redis.call('ZADD', KEYS[1], now, ARGV[1])
      if -tonumber(markerSeen) - now < ttl then
        local lease = now + ttl * (1 + LEASE_TTLS)
        redis.call('PEXPIREAT', KEYS[1], lease)
        redis.call('PEXPIREAT', KEYS[2], lease)
        redis.call('ZADD', KEYS[1], -lease, NO_OVERRIDE)
      end
      return count
    end
  end
end

--- @include "policy"
local sessionId = ARGV[1]
local kind, drm, deviceId, contentId, requestedPlan, licenseType, takeoverId =
  string.match(ARGV[4], '^(%S*) (%S*) (%S*) (%S*) (%S*) (%S*) (%S*)$')
local policy = resolvePolicy(KEYS[3], requestedPlan, DEFAULT_PLAN, PLAN_TABLE, now,
  markerSeen ~= false)

-- The reply's first 11 fields; extend() adds the rest when an answer needs one of them
-- (reply[12] downloadLapseMs, [13] takenOver, [14] shadow, [15] devices: HEARTBEAT_REPLY).
local function answer(decision, reason, active, sessions, cause, removedSlots)
  return { decision, reason, policy.name, policy.countBy, policy.maxStreams, active,
           policy.interval, policy.grace, sessions or {}, cause or '', removedSlots or 0 }
end
local function extend(reply)
  reply[12], reply[13], reply[14], reply[15] = reply[12] or 0, {}, {}, {}
  return reply
end

--- @include "sessions"
--- @include "controls"
withControls(policy)
local u = openUser(KEYS[1], KEYS[2], policy, now)
noteMarker(u, markerSeen)

-- A persistent licence is a download: counted apart from streams, never against maxStreams.
if licenseType == 'persistent' then
--- @include "downloads"
  pruneLapsed(u)
  local active = liveSlotCount(u)
  local lifeMs = policy.downloadDays * 86400000
  local function allowDownload(reason, lapseMs)
    local reply = answer('allow', reason, active)
    reply[12] = lapseMs
    return reply
  end
  if policy.maxDownloads < 0 then -- this plan does not count downloads: nothing is stored
    if kind == 'release' then return answer('allow', 'released', active) end
    return allowDownload('admitted', lifeMs)
  end
  local w = openDownloads(KEYS[4], KEYS[5], now)
  pruneDownloads(w)
  if kind == 'release' then
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
local bound = math.max(MAX_ENTRIES_PER_USER, 2 * policy.maxStreams)

if kind ~= 'release' then
  if policy.countBy == 'device' and deviceId == '' then
    return answer('invalid', 'device_required', 0)
  end
  if policy.maxDevices > 0 and deviceId == '' then
    return answer('invalid', 'devices_required', 0)
  end
end

local liveRead = pruneAndReadLive(u) -- (the live entries, until the first write)
local state = stateOfScore(u, scoreSeen)

if kind == 'release' then
  if state == 'live' then
    removeSession(u, sessionId)
    fitTtl(u)
  end
  return answer('allow', 'released', liveSlotCount(u))
end

-- A revocation (an eviction made while enforcing, or an admin's terminate) holds in shadow too.
if state == 'revoked' then
  local reply = answer('deny', 'session_revoked', liveSlotCount(u))
  if policy.shadow then extend(reply)[14] = { 'deny', 'session_revoked', {} } end
  return reply
end

-- 1. Device cap: a registered device is fine, a new one while there is room will be registered.
local requestDevice = deviceId
local dv, deviceFull = nil, false
if policy.maxDevices > 0 then
  dv = openDevices(KEYS[6], KEYS[7], policy, now)
  pruneDevices(dv)
  deviceFull = not isRegistered(dv, deviceId) and
    redis.call('ZCARD', dv.key) >= policy.maxDevices
  if deviceFull and not policy.shadow then
    local reply = extend(answer('deny', 'device_limit_exceeded', liveSlotCount(u)))
    reply[15] = listDevices(dv)
    return reply
  end
end
-- Every allowed heartbeat refreshes its device (in shadow the cap is not enforced, so the
-- registrations are bounded like the entries).
local function deviceSeen()
  if not dv then return end
  local devices = policy.maxDevices
  if policy.shadow then devices = math.max(MAX_ENTRIES_PER_USER, 2 * policy.maxDevices) end
  registerDevice(dv, requestDevice, devices)
end

-- A new session of a user within the limit reads no details: under countBy session every
-- session is a slot. (It finds room among revocations: it leaves fewer than maxStreams live
-- sessions, half the bound at most.)
if policy.countBy == 'session' and not state and not deviceFull and takeoverId == ''
    and policy.perContent == 0 then
  local count = #liveRead / 2
  if count < policy.maxStreams then
    liveRead = nil -- (makeRoom may remove sessions)
    local removed = makeRoom(u, bound, deviceId)
    if removed then
      recordSession(u, sessionId, drm, deviceId, contentId)
      settleTtl(u)
      deviceSeen()
      local reply = answer('allow', 'admitted', count + 1 - removed)
      if policy.shadow then extend(reply)[14] = { 'allow', 'admitted', {} } end
      return reply
    end
  end
end

local sessions, byId = loadSessions(u, liveRead)
local known = byId[sessionId]
if known then deviceId = known.deviceId end
-- 2. Takeover: the named live session (of this user, not this one) goes first.
local takenOver = nil
if takeoverId ~= '' and takeoverId ~= sessionId then takenOver = byId[takeoverId] end
local live = sessions
if takenOver then
  live = {}
  for _, s in ipairs(sessions) do
    if s ~= takenOver then live[#live + 1] = s end
  end
end
local slots, byKey = groupSlots(policy, live)
local mine = byKey[slotKeyOf(policy, sessionId, deviceId)]
local graceCutoff = now - policy.evictionGraceMs

local function allSlots()
  local out = {}
  sortSlots(slots, false)
  return describeSlots(slots, 1, #slots, out)
end

-- The verdict enforcement gives, computed without writing:
--   { decision, reason, conflicts = rows, victims = slots to evict, cause, lowered = slot }
local function decide()
  if deviceFull then return { decision = 'deny', reason = 'device_limit_exceeded' } end
  if mine then
    -- 3. A live slot keeps playing only while it ranks within maxStreams (oldest first under
    -- reject-new, newest first under evict-oldest).
    local fits = #slots <= policy.maxStreams
    if not fits then
      sortSlots(slots, policy.onLimit == 'evict-oldest')
      for rank, slot in ipairs(slots) do
        if slot == mine then fits = rank <= policy.maxStreams break end
      end
    end
    if fits then return { decision = 'allow', reason = 'renewed' } end
    return { decision = 'deny', reason = 'limit_exceeded', lowered = mine,
             conflicts = describeSlots(slots, 1, policy.maxStreams, {}) }
  end
  local working, victims, cause = slots, {}, ''
  -- 4. Per-content: the user's live slots on this contentId.
  if policy.perContent > 0 and contentId ~= '' then
    local on = {}
    for _, slot in ipairs(slots) do
      if slotOnContent(slot, contentId) then on[#on + 1] = slot end
    end
    if #on >= policy.perContent then
      sortSlots(on, false)
      local need = #on - policy.perContent + 1
      if policy.onLimit ~= 'evict-oldest' or on[need].startedAt > graceCutoff then
        return { decision = 'deny', reason = 'content_limit_exceeded',
                 conflicts = describeSlots(on, 1, #on, {}) }
      end
      local gone = {}
      for i = 1, need do
        victims[i] = on[i]
        gone[on[i].key] = true
      end
      working, cause = without(slots, gone), 'evict_oldest'
    end
  end
  -- 5. Room left.
  if #working < policy.maxStreams then
    return { decision = 'allow', reason = 'admitted', victims = victims, cause = cause }
  end
  -- 6. Handoff: the oldest live slot on this content on another device, if past the grace.
  if policy.handoff and contentId ~= '' and requestDevice ~= '' and
      #working == policy.maxStreams then
    sortSlots(working, false)
    for _, slot in ipairs(working) do
      if slotOnContent(slot, contentId) and slotOnOtherDevice(slot, requestDevice) then
        if slot.startedAt <= graceCutoff then
          victims[#victims + 1] = slot
          return { decision = 'allow', reason = 'admitted', victims = victims, cause = 'handoff' }
        end
        break
      end
    end
  end
  -- 7. onLimit: evict-oldest evicts the oldest slots, if they are all past the grace.
  if policy.onLimit == 'evict-oldest' and policy.maxStreams > 0 then
    sortSlots(working, false)
    local need = #working - policy.maxStreams + 1
    if working[need].startedAt <= graceCutoff then
      for i = 1, need do victims[#victims + 1] = working[i] end
      return { decision = 'allow', reason = 'admitted', victims = victims,
               cause = 'evict_oldest' }
    end
  end
  return { decision = 'deny', reason = 'limit_exceeded', conflicts = allSlots() }
end

local v = decide()
local victims = v.victims or {}
local takenRows = {}
if takenOver then takenRows[1] = describe(takenOver) end

-- Stores this heartbeat's session (renewed or new); nil when the user's bound leaves no room.
local function keep(slot)
  if known then
    touchSession(u, sessionId)
    settleTtl(u)
    return 0
  end
  if slot then capDeviceSessions(u, slot.sessions, MAX_SESSIONS_PER_DEVICE) end
  local removed = makeRoom(u, bound, deviceId)
  if removed then
    recordSession(u, sessionId, drm, deviceId, contentId)
    settleTtl(u)
  end
  return removed
end

if policy.shadow then
  -- Shadow: nothing is revoked or denied; the session is stored and counted.
  local every, everyByKey = slots, byKey
  if takenOver then every, everyByKey = groupSlots(policy, sessions) end
  local own = everyByKey[slotKeyOf(policy, sessionId, deviceId)]
  local would = {}
  if v.decision == 'allow' then would = describeSlots(victims, 1, #victims, {}) end
  if takenOver then table.insert(would, 1, takenRows[1]) end
  local shadow = { v.decision, v.reason, would }
  local removed = keep(own)
  if not removed then
    -- the per-user bound is a safety limit, not policy: it holds in shadow too
    local reply = extend(answer('deny', 'limit_exceeded', #every, allSlots()))
    reply[14] = shadow
    return reply
  end
  deviceSeen()
  local reply
  if own then
    reply = answer('allow', 'renewed', #every)
  else
    reply = answer('allow', 'admitted', #every + 1 - removed)
  end
  extend(reply)[14] = shadow
  return reply
end

if takenOver then revokeSession(u, takenOver.id) end

if v.decision == 'deny' then
  local reply
  if v.lowered then
    for _, s in ipairs(v.lowered.sessions) do revokeSession(u, s.id) end
    if not known and makeRoom(u, bound, '') then revokeSession(u, sessionId) end
    reply = answer('deny', v.reason, #slots - 1, v.conflicts, 'limit_lowered', 1)
  else
    reply = answer('deny', v.reason, #slots, v.conflicts)
  end
  if takenOver or v.lowered then settleTtl(u) end
  if takenOver then extend(reply)[13] = takenRows end
  return reply
end

for _, slot in ipairs(victims) do
  for _, s in ipairs(slot.sessions) do revokeSession(u, s.id) end
end
-- (revocations just made leave room for one more entry)
local removed = keep(mine)
if not removed then
  if u.written then settleTtl(u) end -- (the revocations made above)
  local reply = answer('deny', 'limit_exceeded', #slots, allSlots())
  if takenOver then extend(reply)[13] = takenRows end
  return reply
end
deviceSeen()
local reply
if v.reason == 'renewed' then
  reply = answer('allow', 'renewed', #slots)
else
  reply = answer('allow', 'admitted', #slots - #victims + 1 - removed,
    describeSlots(victims, 1, #victims, {}), v.cause, #victims)
end
if takenOver then extend(reply)[13] = takenRows end
return reply
