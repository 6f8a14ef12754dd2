--- @include "policy"
--- @include "sessions"
-- terminate.lua: ends one session (ARGV[1]) or, with ARGV[1] = '', every live session of a user.
-- Each ended session's slot share is freed now and the session is revoked for one ttl, so its
-- next heartbeat is denied session_revoked. An unknown session id is revoked too, while the
-- user's bound leaves room for it.
-- KEYS[1] entries  KEYS[2] details  KEYS[3] override (layout in sessions.lua)
-- ARGV[1] sessionId or ''  ARGV[2] default plan  ARGV[3] plan table
-- ARGV[4] entries a user may hold at least (USHER_MAX_ENTRIES_PER_USER)
-- Returns TERMINATE_REPLY { plan, sessions } (src/sessions/script-replies.ts) with the sessions
-- that were live when ended (see describe).
local now = nowMs()
local policy = resolvePolicy(KEYS[3], '', ARGV[2], ARGV[3], now)
local u = openUser(KEYS[1], KEYS[2], policy, now)
pruneLapsed(u)
local sessions, byId = loadSessions(u)
local ended = {}
if ARGV[1] ~= '' then
  local s = byId[ARGV[1]]
  if s then
    ended[1] = describe(s)
    revokeSession(u, s.id)
  elseif stateOf(u, ARGV[1]) == 'revoked' or
      makeRoom(u, math.max(tonumber(ARGV[4]), 2 * policy.maxStreams), '') then
    revokeSession(u, ARGV[1])
  end
else
  for _, s in ipairs(sessions) do
    ended[#ended + 1] = describe(s)
    revokeSession(u, s.id)
  end
end
-- (a revocation made now needs one ttl: settleTtl)
if fitTtl(u) then settleTtl(u) end
return { policy.name, ended }
