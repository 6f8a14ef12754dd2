-- policy.lua: the Redis clock and the effective policy of a user (included by every per-user
-- script). Plan table (ARGV): "\n" then one line per plan:
--   "<name> <maxStreams> <countBy> <onLimit> <interval> <grace> <maxDownloads> <downloadDays>
--    <enforcement> <evictionGraceSeconds> <handoff 0|1> <maxStreamsPerContent> <maxDevices>
--    <deviceWindowHours>\n"
--   (maxDownloads -1: the plan does not count downloads; maxStreamsPerContent, maxDevices 0: no
--   such limit; docs/admin-api.md, "Rollout and fairness controls")
-- Override hash: plan, maxStreams, countBy, onLimit, maxDownloads, enforcement,
-- evictionGraceSeconds, maxStreamsPerContent, maxDevices, expiresAt (ms); see
-- docs/architecture.md.

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The requested plan, else the override's plan, else the default plan; then the override's own
-- fields on top. An unknown plan name falls back to the default.
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
  local maxStreams, countBy, onLimit, interval, grace, maxDownloads, downloadDays, enforcement,
        evictionGrace, handoff, perContent, maxDevices, windowHours = string.match(planTable,
    '^%S+ (%d+) (%S+) (%S+) (%d+) (%d+) (%-?%d+) (%d+) (%S+) (%d+) (%d) (%d+) (%d+) (%d+)', at + 1)
  local policy = {
    name = name,
    maxStreams = tonumber(o.maxStreams or maxStreams),
    countBy = o.countBy or countBy,
    onLimit = o.onLimit or onLimit,
    interval = tonumber(interval),
    grace = tonumber(grace),
    maxDownloads = tonumber(o.maxDownloads or maxDownloads),
    downloadDays = tonumber(downloadDays),
    shadow = (o.enforcement or enforcement) == 'shadow',
    evictionGraceMs = tonumber(o.evictionGraceSeconds or evictionGrace) * 1000,
    handoff = handoff == '1',
    perContent = tonumber(o.maxStreamsPerContent or perContent),
    maxDevices = tonumber(o.maxDevices or maxDevices),
    deviceWindowMs = tonumber(windowHours) * 3600000,
  }
  policy.ttl = (policy.interval + policy.grace) * 1000
  return policy
end
