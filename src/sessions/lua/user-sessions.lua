--- @include "policy"
--- @include "sessions"
--- @include "downloads"
-- user-sessions.lua: a user's effective policy and live sessions (admin look-up); writes nothing.
-- KEYS[1] entries  KEYS[2] details  KEYS[3] override (layout in sessions.lua)
-- KEYS[4] downloads  KEYS[5] download details (downloads.lua)
-- ARGV[1] default plan  ARGV[2] plan table
-- Returns USER_SESSIONS_REPLY { plan, countBy, maxStreams, activeStreams, interval, grace,
--   sessions, downloads, maxDownloads } (src/sessions/script-replies.ts) with sessions as in
-- describe (sessions.lua), oldest slot first, and downloads as in loadDownloads (downloads.lua),
-- soonest to lapse first.
local now = nowMs()
local policy = resolvePolicy(KEYS[3], '', ARGV[1], ARGV[2], now)
local u = openUser(KEYS[1], KEYS[2], policy, now)
local slots = groupSlots(policy, (loadSessions(u)))
sortSlots(slots, false)
return { policy.name, policy.countBy, policy.maxStreams, #slots, policy.interval,
         policy.grace, describeSlots(slots, 1, #slots, {}),
         loadDownloads(openDownloads(KEYS[4], KEYS[5], now)), policy.maxDownloads }
