/**
 * Every key about one user carries the user's hash tag, so all of a user's keys live in one
 * Redis Cluster slot and one script can touch them atomically. User ids cannot contain braces.
 */
export interface UserKeys {
  /** Sessions and revocations (a string, one line per entry: lua/lib.lua; always with a TTL). */
  sessions: string;
  /** Per-user override (hash; TTL only when it has expiresAt). */
  override: string;
}

export function userKeys(prefix: string, userId: string): UserKeys {
  const base = `${prefix}:{${userId}}`;
  return { sessions: `${base}:s`, override: `${base}:o` };
}
