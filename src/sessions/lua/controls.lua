-- controls.lua: the rollout and fairness controls of heartbeat.lua (docs/admin-api.md, "Rollout
-- and fairness controls"): device registrations, and the pieces of the new-slot decision
-- (per-content limit, handoff, eviction grace).
-- Device registrations, two keys per user under the user's hash tag:
--   devices    sorted set, member = deviceId, score = the Redis ms it was last seen
--   firstSeen  hash, deviceId -> the Redis ms it was first seen (registered)
-- A registration lapses deviceWindowMs after it was last seen; both keys expire with the newest.

-- The controls' defaults, for a policy whose plan and override set none (resolvePolicy leaves
-- them out so the renewal fast path parses nothing more).
local function withControls(policy)
  if policy.maxDevices == nil then
    policy.shadow, policy.evictionGraceMs, policy.handoff = false, 0, false
    policy.perContent, policy.maxDevices, policy.deviceWindowMs = 0, 0, 720 * 3600000
  end
  return policy
end

local function openDevices(devicesKey, firstSeenKey, policy, now)
  return { key = devicesKey, firstSeen = firstSeenKey, now = now,
           window = policy.deviceWindowMs, cutoff = now - policy.deviceWindowMs }
end

-- Drops the registrations not seen within the window.
local function pruneDevices(dv)
  local lapsed = redis.call('ZRANGE', dv.key, '-inf', dv.cutoff, 'BYSCORE')
  if #lapsed > 0 then
    redis.call('ZREMRANGEBYSCORE', dv.key, '-inf', dv.cutoff)
    redis.call('HDEL', dv.firstSeen, unpack(lapsed))
  end
end

local function isRegistered(dv, deviceId)
  return redis.call('ZSCORE', dv.key, deviceId) ~= false
end

-- The registered devices, most recently seen first, each a DEVICE_ROW { deviceId, firstSeenAt,
-- lastSeenAt } (src/sessions/script-replies.ts).
local function listDevices(dv)
  local flat = redis.call('ZRANGE', dv.key, '+inf', '(' .. dv.cutoff, 'BYSCORE', 'REV',
    'WITHSCORES')
  local rows, ids = {}, {}
  if #flat == 0 then return rows end
  for i = 1, #flat, 2 do ids[#ids + 1] = flat[i] end
  local first = redis.call('HMGET', dv.firstSeen, unpack(ids))
  for i, id in ipairs(ids) do
    local lastSeenAt = tonumber(flat[2 * i])
    rows[i] = { id, tonumber(first[i]) or lastSeenAt, lastSeenAt }
  end
  return rows
end

-- Registers or refreshes a device (seen now), then keeps at most `bound` registrations: the
-- least recently seen go first.
local function registerDevice(dv, deviceId, bound)
  local added = redis.call('ZADD', dv.key, dv.now, deviceId)
  if added == 1 then redis.call('HSET', dv.firstSeen, deviceId, dv.now) end
  local over = redis.call('ZCARD', dv.key) - bound
  if over > 0 then
    local dropped = redis.call('ZRANGE', dv.key, 0, over - 1)
    redis.call('ZREMRANGEBYRANK', dv.key, 0, over - 1)
    redis.call('HDEL', dv.firstSeen, unpack(dropped))
  end
  redis.call('PEXPIRE', dv.key, dv.window)
  redis.call('PEXPIRE', dv.firstSeen, dv.window)
end

-- Whether any session of the slot is on contentId.
local function slotOnContent(slot, contentId)
  for _, s in ipairs(slot.sessions) do
    if s.contentId == contentId then return true end
  end
  return false
end

-- Whether every session of the slot is on a device other than deviceId.
local function slotOnOtherDevice(slot, deviceId)
  for _, s in ipairs(slot.sessions) do
    if s.deviceId == deviceId then return false end
  end
  return true
end

-- The slots of `slots` not in `gone` (a set of slot keys).
local function without(slots, gone)
  local kept = {}
  for _, slot in ipairs(slots) do
    if not gone[slot.key] then kept[#kept + 1] = slot end
  end
  return kept
end
