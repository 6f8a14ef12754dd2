-- marker.lua: the Redis clock and the no-override marker (included first by every per-user script,
-- through policy.lua; heartbeat.lua's fast renewal needs nothing else).

-- The no-override marker (docs/architecture.md, "Key layout"): member '!' of the user's entries
-- sorted set, never a session id ('!' is outside the id alphabet, src/common/ids.ts), present only
-- while the user has no override (setting one removes it: src/plans/override-store.ts). Its score
-- is -D, D being the Redis ms at which both of the user's session keys (entries and details)
-- expire: a lease of (1 + LEASE_TTLS) ttls, renewed once less than one ttl of it is left, so a
-- renewal neither reads the override nor sets a TTL. -D < -now: never a live entry nor a lapsed
-- one, so every reader of the entries skips it by its score range or by its name.
local NO_OVERRIDE = '!'
-- How many ttls past the lapse of their last entry the keys of a user who went away may live.
local LEASE_TTLS = 10

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
