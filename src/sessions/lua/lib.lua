-- lib.lua: prelude prepended to every per-user script when it is registered (SessionStore).
-- Key layout, all under the user's hash tag so every script runs on Redis Cluster:
--   session string KEYS[1]: every entry of the user, one per line ("\n" between lines; saveState
--     keeps the order read and puts new ids last, though no decision depends on the order):
--       a session    "<sessionId>|<startedAtMs>|<lastSeenAtMs>|<drm letter>|<deviceId>|<contentId>"
--       a revocation "!<sessionId>|<revokedUntilMs>"
--     deviceId and contentId may be empty; ids never contain '|' or a newline (SPEC §4). Read whole
--     with GET, written whole with one SET ... PX (saveState) or DEL when nothing is left: a
--     plain string costs the same few bytes per entry whatever Redis' hash/listpack settings.
--     Lapsed entries are dropped when the string is next written; readers skip them until then.
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

-- Reads the user's live sessions grouped into slots (a slot starts with its earliest session) and
-- live revocations (revoked: sessionId -> revokedUntilMs). Lapsed entries are skipped, not
-- deleted: the next saveState leaves them out. order lists every id with an entry in load order,
-- so saveState writes deterministically.
local function loadSlots(key, policy, now)
  local blob = redis.call('GET', key)
  local cutoff = now - policy.ttl
  local state = { slots = {}, byKey = {}, sessions = {}, revoked = {}, order = {}, listed = {},
                  ttl = policy.ttl }
  if not blob then return state end
  for line in string.gmatch(blob, '[^\n]+') do
    if string.byte(line, 1) == 33 then -- '!': a revocation
      local id, untilMs = string.match(line, '^!([^|]+)|(%d+)$')
      untilMs = tonumber(untilMs)
      if untilMs > now then
        state.revoked[id] = untilMs
        if not state.listed[id] then
          state.listed[id] = true
          state.order[#state.order + 1] = id
        end
      end
    else
      local id, startedAt, lastSeenAt, drm, deviceId, contentId =
        string.match(line, '^([^|]+)|(%d+)|(%d+)|(%a)|([^|]*)|(.*)$')
      lastSeenAt = tonumber(lastSeenAt)
      if lastSeenAt > cutoff then
        local s = { id = id, startedAt = tonumber(startedAt), lastSeenAt = lastSeenAt,
                    drm = drm, deviceId = deviceId, contentId = contentId, line = line }
        state.sessions[id] = s
        if not state.listed[id] then
          state.listed[id] = true
          state.order[#state.order + 1] = id
        end
        local slotKey = slotKeyOf(policy, id, deviceId)
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

-- The edits below change only the in-memory state (not state.slots, which keeps describing the
-- slots as loaded); saveState writes the result.

local function listId(state, id)
  if not state.listed[id] then
    state.listed[id] = true
    state.order[#state.order + 1] = id
  end
end

-- Records (or replaces) a session.
local function putSession(state, id, startedAt, lastSeenAt, drm, deviceId, contentId)
  listId(state, id)
  state.sessions[id] = { id = id, startedAt = startedAt, lastSeenAt = lastSeenAt, drm = drm,
                         deviceId = deviceId, contentId = contentId }
end

local function removeSession(state, id)
  state.sessions[id] = nil
end

-- Ends a session now and denies its heartbeats until untilMs.
local function revokeSession(state, id, untilMs)
  listId(state, id)
  state.sessions[id] = nil
  state.revoked[id] = untilMs
end

-- Writes every live entry of the state with ONE command: SET with a TTL that keeps the string
-- exactly as long as its longest-lived entry (a session lives policy.ttl past its last heartbeat,
-- a revocation until its time), or DEL when no entry is left.
local function saveState(key, state, now)
  local lines, ttl = {}, 0
  for _, id in ipairs(state.order) do
    local s = state.sessions[id]
    if s then
      lines[#lines + 1] = s.line or (id .. '|' .. s.startedAt .. '|' .. s.lastSeenAt .. '|' ..
        s.drm .. '|' .. s.deviceId .. '|' .. s.contentId)
      local left = s.lastSeenAt + state.ttl - now
      if left > ttl then ttl = left end
    end
    local untilMs = state.revoked[id]
    if untilMs then
      lines[#lines + 1] = '!' .. id .. '|' .. untilMs
      if untilMs - now > ttl then ttl = untilMs - now end
    end
  end
  if #lines == 0 then
    redis.call('DEL', key)
  else
    redis.call('SET', key, table.concat(lines, '\n'), 'PX', math.max(ttl, 1))
  end
end
