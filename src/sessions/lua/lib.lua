-- lib.lua: prelude prepended to every per-user script when it is registered (SessionStore).
-- Key layout, all under the user's hash tag so every script runs on Redis Cluster:
--   session hash  KEYS[1]: <sessionId>   = "<startedAtMs>|<lastSeenAtMs>|<drm letter>|<deviceId>|<contentId>"
--                          !<sessionId>  = "<revokedUntilMs>"
--   override hash KEYS[2]: plan, maxStreams, countBy, onLimit, expiresAt (ms)
-- Plan table (ARGV): "\n" followed by one line per plan: "<name> <maxStreams> <countBy> <onLimit> <interval> <grace>\n".

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The effective policy: the requested plan, else the override's plan, else the default plan;
-- then the override's own fields on top. An unknown plan name falls back to the default.
local function resolvePolicy(overrideKey, requested, defaultName, planTable, now)
  local o = {}
  local flat = redis.call('HGETALL', overrideKey)
  for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
  if o.expiresAt and tonumber(o.expiresAt) <= now then o = {} end
  local name = requested
  if name == '' then name = o.plan or defaultName end
  local at = string.find(planTable, '\n' .. name .. ' ', 1, true)
  if not at then
    name = defaultName
    at = string.find(planTable, '\n' .. name .. ' ', 1, true)
  end
  local maxStreams, countBy, onLimit, interval, grace =
    string.match(planTable, '^%S+ (%d+) (%S+) (%S+) (%d+) (%d+)', at + 1)
  local policy = {
    name = name,
    maxStreams = tonumber(o.maxStreams or maxStreams),
    countBy = o.countBy or countBy,
    onLimit = o.onLimit or onLimit,
    interval = tonumber(interval),
    grace = tonumber(grace),
  }
  policy.ttl = (policy.interval + policy.grace) * 1000
  return policy
end

local function slotKeyOf(policy, sessionId, deviceId)
  if policy.countBy == 'device' and deviceId ~= '' then return 'd:' .. deviceId end
  return 's:' .. sessionId
end

-- Reads the user's live sessions grouped into slots (a slot starts with its earliest session).
-- Lapsed sessions and lapsed revocations are deleted on the way.
local function loadSlots(key, policy, now)
  local flat = redis.call('HGETALL', key)
  local cutoff = now - policy.ttl
  local state = { slots = {}, byKey = {}, sessions = {}, revoked = {} }
  local stale = {}
  for i = 1, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    if string.byte(field, 1) == 33 then -- '!': a revocation
      if tonumber(value) <= now then
        stale[#stale + 1] = field
      else
        state.revoked[string.sub(field, 2)] = true
      end
    else
      local startedAt, lastSeenAt, drm, deviceId, contentId =
        string.match(value, '^(%d+)|(%d+)|(%a)|([^|]*)|(.*)$')
      lastSeenAt = tonumber(lastSeenAt)
      if lastSeenAt <= cutoff then
        stale[#stale + 1] = field
      else
        local s = { id = field, startedAt = tonumber(startedAt), lastSeenAt = lastSeenAt,
                    drm = drm, deviceId = deviceId, contentId = contentId }
        state.sessions[field] = s
        local slotKey = slotKeyOf(policy, field, deviceId)
        local slot = state.byKey[slotKey]
        if not slot then
          slot = { key = slotKey, startedAt = s.startedAt, sessions = {} }
          state.byKey[slotKey] = slot
          state.slots[#state.slots + 1] = slot
        elseif s.startedAt < slot.startedAt then
          slot.startedAt = s.startedAt
        end
        slot.sessions[#slot.sessions + 1] = s
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return state
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

local function describe(s)
  return { s.id, s.deviceId, s.drm, s.contentId, s.startedAt, s.lastSeenAt }
end

local function describeSlots(slots, first, last, out)
  for i = first, last do
    for _, s in ipairs(slots[i].sessions) do out[#out + 1] = describe(s) end
  end
  return out
end

-- Ends a session now and denies its heartbeats until untilMs.
local function revokeSession(key, sessionId, untilMs)
  redis.call('HDEL', key, sessionId)
  redis.call('HSET', key, '!' .. sessionId, untilMs)
end

-- Keeps the hash alive as long as its longest-lived entry; never shortens it.
local function extendTtl(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
