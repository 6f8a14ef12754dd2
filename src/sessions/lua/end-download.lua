--- @include "policy"
--- @include "downloads"
-- end-download.lua: ends one download (admin), freeing its place under maxDownloads at once.
-- KEYS as every per-user script: KEYS[3] override  KEYS[4] downloads  KEYS[5] download details
-- ARGV[1] sessionId  ARGV[2] default plan  ARGV[3] plan table
-- Returns END_DOWNLOAD_REPLY { removed, plan } (src/sessions/script-replies.ts): removed is 1
-- when the download existed, else 0; plan is the user's plan.
local now = nowMs()
local policy = resolvePolicy(KEYS[3], '', ARGV[2], ARGV[3], now)
return { endDownload(openDownloads(KEYS[4], KEYS[5], now), ARGV[1]), policy.name }
