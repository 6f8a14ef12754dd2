-- downloads.lua: a user's downloads, persistent licences counted apart from streams (included by
-- the scripts that read or write them). Two keys under the user's hash tag:
--   downloads        sorted set, member = session id, score = the Redis millisecond at which the
--                    download lapses (downloadDays after its first licence)
--   download details hash, session id -> "<drm letter><startedAt><deviceId>|<contentId>", the
--                    format of the session details (sessions.lua)
-- Both keys expire with their last download (PEXPIREAT the highest score).
--- @include "sessions"

local function openDownloads(downloadsKey, detailsKey, now)
  return { key = downloadsKey, details = detailsKey, now = now }
end

-- Drops the downloads that have lapsed, with their details.
local function pruneDownloads(w)
  local lapsed = redis.call('ZRANGE', w.key, '-inf', w.now, 'BYSCORE')
  if #lapsed > 0 then
    redis.call('ZREMRANGEBYSCORE', w.key, '-inf', w.now)
    redis.call('HDEL', w.details, unpack(lapsed))
  end
end

-- Live downloads, soonest to lapse first, each a DOWNLOAD_ROW { expiresAt, sessionId, deviceId,
-- drm, contentId, startedAt, lastSeenAt }: when it lapses (ms), then the fields of describe
-- (sessions.lua).
local function loadDownloads(w)
  local flat = redis.call('ZRANGE', w.key, '(' .. w.now, '+inf', 'BYSCORE', 'WITHSCORES')
  local rows, ids = {}, {}
  if #flat == 0 then return rows end
  for i = 1, #flat, 2 do ids[#ids + 1] = flat[i] end
  local details = redis.call('HMGET', w.details, unpack(ids))
  for i, id in ipairs(ids) do
    local drm, startedAt, deviceId, contentId =
      string.match(details[i] or '', '^(%a)(%w%w%w%w%w%w%w%w)([^|]*)|(.*)$')
    startedAt = startedAt and tonumber(startedAt, 36) or w.now
    rows[i] = { tonumber(flat[2 * i]), id, deviceId or '', drm or 'w', contentId or '', startedAt,
                startedAt }
  end
  return rows
end

-- Both keys live as long as the download that lapses last.
local function fitDownloadsTtl(w)
  local last = redis.call('ZRANGE', w.key, -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  redis.call('PEXPIREAT', w.key, last[2])
  redis.call('PEXPIREAT', w.details, last[2])
end

local function recordDownload(w, id, lapsesAt, drm, deviceId, contentId)
  redis.call('ZADD', w.key, lapsesAt, id)
  redis.call('HSET', w.details, id, drm .. base36(w.now) .. deviceId .. '|' .. contentId)
  fitDownloadsTtl(w)
end

local function endDownload(w, id)
  local removed = redis.call('ZREM', w.key, id)
  redis.call('HDEL', w.details, id)
  fitDownloadsTtl(w)
  return removed
end
