--- @include "policy"
--- @include "sessions"
--- @include "controls"
-- user-devices.lua: a user's device registrations (admin look-up); writes nothing.
-- KEYS[1..5] as heartbeat.lua (only KEYS[3] override is read)
-- KEYS[6] devices (sorted set)  KEYS[7] device first-seen (hash) (controls.lua)
-- ARGV[1] default plan  ARGV[2] plan table
-- Returns USER_DEVICES_REPLY { maxDevices, deviceWindowHours, devices }
-- (src/sessions/script-replies.ts): maxDevices 0 when not capped; devices as in listDevices
-- (controls.lua), the registrations within the window, most recently seen first.
local now = nowMs()
local policy = withControls(resolvePolicy(KEYS[3], '', ARGV[1], ARGV[2], now))
local dv = openDevices(KEYS[6], KEYS[7], policy, now)
return { policy.maxDevices, policy.deviceWindowMs / 3600000, listDevices(dv) }
