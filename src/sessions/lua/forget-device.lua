--- @include "policy"
--- @include "sessions"
-- forget-device.lua: frees one device registration (admin), so another device may register.
-- KEYS[1..5] as heartbeat.lua (not read)
-- KEYS[6] devices (sorted set)  KEYS[7] device first-seen (hash) (controls.lua)
-- ARGV[1] deviceId
-- Returns 1 when the device was registered, else 0. (The libraries are included so every
-- per-user script is composed alike; this one uses none of them.)
local removed = redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('HDEL', KEYS[7], ARGV[1])
return removed
