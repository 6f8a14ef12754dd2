-- heartbeat.lua: the whole decision for one heartbeat (SPEC §3), atomic per user.
-- KEYS[1] session string, KEYS[2] override hash (layout in lib.lua)
-- ARGV[1] 'request' (license-request and license-renewal) | 'release'
-- ARGV[2] sessionId  ARGV[3] deviceId or ''  ARGV[4] drm letter  ARGV[5] contentId or ''
-- ARGV[6] requested plan or ''  ARGV[7] default plan  ARGV[8] plan table
-- Returns { decision, reason, plan, countBy, maxStreams, activeStreams, interval, grace,
--           sessions, cause, removedSlots }
--   decision: 'allow' | 'deny' | 'invalid' (reason 'device_required'; nothing was written)
--   sessions: the evicted sessions on allow, the conflicting ones on deny (see describe)
--   cause: '' | 'evict_oldest' | 'limit_lowered', for the removedSlots slots this call ended
-- Writes the session string once (saveState) when the answer changed something; a deny for a new
-- slot, a revoked session and a release of an unknown session write nothing.
local key = KEYS[1]
local sessionId = ARGV[2]
local now = nowMs()
local policy = resolvePolicy(KEYS[2], ARGV[6], ARGV[7], ARGV[8], now)

local function answer(decision, reason, active, sessions, cause, removedSlots)
  return { decision, reason, policy.name, policy.countBy, policy.maxStreams, active,
           policy.interval, policy.grace, sessions or {}, cause or '', removedSlots or 0 }
end

if ARGV[1] ~= 'release' and policy.countBy == 'device' and ARGV[3] == '' then
  return answer('invalid', 'device_required', 0)
end

local state = loadSlots(key, policy, now)
local slots = state.slots
local record = state.sessions[sessionId]

if ARGV[1] == 'release' then
  local active = #slots
  if record then
    removeSession(state, sessionId)
    saveState(key, state, now)
    -- under countBy device the slot goes with its last session
    if #state.byKey[slotKeyOf(policy, sessionId, record.deviceId)].sessions == 1 then
      active = active - 1
    end
  end
  return answer('allow', 'released', active)
end

if state.revoked[sessionId] then return answer('deny', 'session_revoked', #slots) end

-- A renewal may omit what the first request said; keep what is known.
local deviceId, contentId, startedAt = ARGV[3], ARGV[5], now
if record then
  if deviceId == '' then deviceId = record.deviceId end
  if contentId == '' then contentId = record.contentId end
  startedAt = record.startedAt
end
local untilMs = now + policy.ttl

local function store()
  putSession(state, sessionId, startedAt, now, ARGV[4], deviceId, contentId)
  saveState(key, state, now)
end

local mine = state.byKey[slotKeyOf(policy, sessionId, deviceId)]
if mine then
  -- A live slot keeps playing only while it ranks within maxStreams (SPEC §3.3). With no more
  -- live slots than maxStreams every slot ranks within it, so the common renewal skips the sort.
  if #slots <= policy.maxStreams then
    store()
    return answer('allow', 'renewed', #slots)
  end
  sortSlots(slots, policy.onLimit == 'evict-oldest')
  local rank = 0
  for i, slot in ipairs(slots) do
    if slot == mine then rank = i break end
  end
  if rank <= policy.maxStreams then
    store()
    return answer('allow', 'renewed', #slots)
  end
  for _, s in ipairs(mine.sessions) do revokeSession(state, s.id, untilMs) end
  revokeSession(state, sessionId, untilMs)
  saveState(key, state, now)
  return answer('deny', 'limit_exceeded', #slots - 1,
    describeSlots(slots, 1, policy.maxStreams, {}), 'limit_lowered', 1)
end

local active = #slots
if active < policy.maxStreams then
  store()
  return answer('allow', 'admitted', active + 1)
end
if policy.onLimit == 'evict-oldest' and policy.maxStreams > 0 then
  sortSlots(slots, false)
  local count = active - policy.maxStreams + 1
  local evicted = describeSlots(slots, 1, count, {})
  for _, s in ipairs(evicted) do revokeSession(state, s[1], untilMs) end
  store()
  return answer('allow', 'admitted', policy.maxStreams, evicted, 'evict_oldest', count)
end
return answer('deny', 'limit_exceeded', active, describeSlots(slots, 1, active, {}))
