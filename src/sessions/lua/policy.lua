--- @include "marker"
-- policy.lua: the effective policy of a user (included by every per-user script; the clock and
-- the no-override marker come first, marker.lua). Plan table (ARGV): "\n" then one line per plan:
--   "<name> <maxStreams> <countBy> <onLimit> <interval> <grace> <maxDownloads> <downloadDays>
--    [<enforcement> <evictionGraceSeconds> <handoff 0|1> <maxStreamsPerContent> <maxDevices>
--    <deviceWindowHours>]\n"
--   (maxDownloads -1: the plan does not count downloads; the bracketed controls only for a plan
--   that sets one, maxStreamsPerContent and maxDevices 0 meaning no such limit; docs/admin-api.md,
--   "Rollout and fairness controls")
-- Override hash: plan, maxStreams, countBy, onLimit, maxDownloads, enforcement,
-- evictionGraceSeconds, maxStreamsPerContent, maxDevices, expiresAt (ms); see
-- docs/architecture.md.

-- The requested plan, else the override's plan, else the default plan; then the override's own
-- fields on top. An unknown plan name falls back to the default.
-- noOverride: the caller already knows the user has none (the marker: the read is skipped).
-- policy.overridden: whether an override is in force.
local function resolvePolicy(overrideKey, requested, defaultName, planTable, now, noOverride)
  local o = {}
  local flat = noOverride and {} or redis.call('HGETALL', overrideKey)
  for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
  if o.expiresAt and tonumber(o.expiresAt) <= now then o = {} end
  local overridden = next(o) ~= nil
  local name = requested
  if name == '' then name = o.plan or defaultName end
  local at = string.find(planTable, '\n' .. name .. ' ', 1, true)
  if not at then
    name = defaultName
    at = string.find(planTable, '\n' .. name .. ' ', 1, true)
  end
  local maxStreams, countBy, onLimit, interval, grace, maxDownloads, downloadDays, controls =
    string.match(planTable, '^%S+ (%d+) (%S+) (%S+) (%d+) (%d+) (%-?%d+) (%d+)([^\n]*)', at + 1)
  local policy = {
    name = name,
    overridden = overridden,
    maxStreams = tonumber(o.maxStreams or maxStreams),
    countBy = o.countBy or countBy,
    onLimit = o.onLimit or onLimit,
    interval = tonumber(interval),
    grace = tonumber(grace),
    maxDownloads = tonumber(o.maxDownloads or maxDownloads),
    downloadDays = tonumber(downloadDays),
  }
  -- The rollout and fairness controls, only when the plan or the override sets one (the steady
  -- state of a plan without them parses nothing more); controls.lua fills in the defaults.
  if controls ~= '' or o.enforcement or o.evictionGraceSeconds or o.maxStreamsPerContent
      or o.maxDevices then
    local enforcement, evictionGrace, handoff, perContent, maxDevices, windowHours =
      string.match(controls, '^ (%S+) (%d+) (%d) (%d+) (%d+) (%d+)')
    policy.shadow = (o.enforcement or enforcement) == 'shadow'
    policy.evictionGraceMs = tonumber(o.evictionGraceSeconds or evictionGrace or 0) * 1000
    policy.handoff = handoff == '1'
    policy.perContent = tonumber(o.maxStreamsPerContent or perContent or 0)
    policy.maxDevices = tonumber(o.maxDevices or maxDevices or 0)
    policy.deviceWindowMs = tonumber(windowHours or 720) * 3600000
  end
  policy.ttl = (policy.interval + policy.grace) * 1000
  return policy
end
