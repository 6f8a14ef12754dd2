-- user-sessions.lua: a user's effective policy and live sessions (admin look-up).
-- KEYS[1] session string, KEYS[2] override hash (layout in lib.lua)
-- ARGV[1] default plan  ARGV[2] plan table
-- Returns { plan, countBy, maxStreams, activeStreams, interval, grace, sessions } with
-- sessions as in describe (lib.lua), oldest slot first.
local now = nowMs()
local policy = resolvePolicy(KEYS[2], '', ARGV[1], ARGV[2], now)
local state = loadSlots(KEYS[1], policy, now)
sortSlots(state.slots, false)
return { policy.name, policy.countBy, policy.maxStreams, #state.slots, policy.interval,
         policy.grace, describeSlots(state.slots, 1, #state.slots, {}) }
