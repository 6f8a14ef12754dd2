-- terminate.lua: ends one session (ARGV[1]) or, with ARGV[1] = '', every live session of a user.
-- Each ended session's slot share is freed now and the session is revoked for as long as a slot
-- lives, so its next heartbeat is denied session_revoked. An unknown session id is revoked too.
-- KEYS[1] session string, KEYS[2] override hash (layout in lib.lua)
-- ARGV[1] sessionId or ''  ARGV[2] default plan  ARGV[3] plan table
-- Returns { plan, sessions } with the sessions that were live when ended (see describe).
local key = KEYS[1]
local now = nowMs()
local policy = resolvePolicy(KEYS[2], '', ARGV[2], ARGV[3], now)
local state = loadSlots(key, policy, now)
local untilMs = now + policy.ttl
local ended = {}
if ARGV[1] ~= '' then
  local s = state.sessions[ARGV[1]]
  if s then ended[1] = describe(s) end
  revokeSession(state, ARGV[1], untilMs)
else
  ended = describeSlots(state.slots, 1, #state.slots, {})
  for _, s in ipairs(ended) do revokeSession(state, s[1], untilMs) end
end
if #ended > 0 or ARGV[1] ~= '' then saveState(key, state, now) end
return { policy.name, ended }
