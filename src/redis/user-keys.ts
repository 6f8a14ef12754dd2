/**
 * Every key about one user carries the user's hash tag, so all of a user's keys live in one
 * Redis Cluster slot and one script can touch them atomically. User ids cannot contain braces.
 * The layout is described in docs/architecture.md ("Key layout") and src/sessions/lua/sessions.lua;
 * it lives here, below plans/ (the override) and sessions/ (the rest), which both use it.
 */
/**
 * The member of a user's entries that says the user has no override (lua/marker.lua NO_OVERRIDE):
 * the renewal trusts it instead of reading the override, so whatever sets an override removes it
 * in the same transaction (OverrideStore). Never a session id: '!' is outside the id alphabet
 * (src/common/ids.ts).
 */
export const NO_OVERRIDE_MARKER = '!';

export interface UserKeys {
  /**
   * Live sessions (score = last seen, ms) and revocations (score = -revoked at): a sorted set,
   * with NO_OVERRIDE_MARKER while the user has no override.
   */
  entries: string;
  /** Session id -> "startedAt|drm|deviceId|contentId" for every live session: a hash. */
  details: string;
  /** Per-user override (hash; TTL only when it has expiresAt). */
  override: string;
  /** Downloads: member = session id, score = when it lapses (ms): a sorted set. */
  downloads: string;
  /** Session id -> "<drm><startedAt><deviceId>|<contentId>" for every download: a hash. */
  downloadDetails: string;
  /** Registered devices: member = deviceId, score = last seen (ms): a sorted set (maxDevices). */
  devices: string;
  /** deviceId -> first seen (ms) for every registered device: a hash. */
  deviceFirstSeen: string;
}

export function userKeys(prefix: string, userId: string): UserKeys {
  const base = `${prefix}:{${userId}}`;
  return {
    entries: `${base}:z`,
    details: `${base}:d`,
    override: `${base}:o`,
    downloads: `${base}:w`,
    downloadDetails: `${base}:wd`,
    devices: `${base}:v`,
    deviceFirstSeen: `${base}:vf`,
  };
}

/** The KEYS of every per-user script, in the order the scripts read them. */
export function scriptKeys(keys: UserKeys): string[] {
  return [
    keys.entries,
    keys.details,
    keys.override,
    keys.downloads,
    keys.downloadDetails,
    keys.devices,
    keys.deviceFirstSeen,
  ];
}
