/**
 * Key layout and time arithmetic of the usher_active_slots computation (docs/metrics.md).
 *
 * Instances PFADD the slots they allowed into per-plan HyperLogLogs, one per time bucket; the
 * count of a plan is the union of the buckets that cover its live window (renewalIntervalSeconds
 * + graceSeconds). All keys share one hash tag, so multi-key PFCOUNT and MULTI work on Cluster.
 */

/** Narrowest bucket: a slot is over-counted by at most one bucket after it lapses. */
export const MIN_BUCKET_SECONDS = 10;
/** Long windows get wider buckets, so one count never unions more than ~32 keys. */
export const MAX_BUCKETS_PER_WINDOW = 30;

export function bucketSeconds(windowSeconds: number): number {
  return Math.max(MIN_BUCKET_SECONDS, Math.ceil(windowSeconds / MAX_BUCKETS_PER_WINDOW));
}

export function activeSlotsKeys(prefix: string) {
  const base = `${prefix}:{active-slots}`;
  return {
    /** Hash plan → live slots, written by the periodic job, read by every instance. */
    snapshot: `${base}:snapshot`,
    /** HyperLogLog of the slots sighted during one bucket of one plan. */
    bucket: (plan: string, width: number, bucket: number) => `${base}:${plan}:${width}:${bucket}`,
  };
}

/** The bucket a sighting at nowSeconds goes into, and how long that key must live. */
export function sightingBucket(windowSeconds: number, nowSeconds: number) {
  const width = bucketSeconds(windowSeconds);
  return { width, bucket: Math.floor(nowSeconds / width), ttlSeconds: windowSeconds + 2 * width };
}

/**
 * Every bucket that may hold a sighting less than windowSeconds old at nowSeconds: from the one
 * containing nowSeconds - windowSeconds up to the current one.
 */
export function windowBuckets(windowSeconds: number, nowSeconds: number) {
  const width = bucketSeconds(windowSeconds);
  const first = Math.floor((nowSeconds - windowSeconds) / width);
  const last = Math.floor(nowSeconds / width);
  const buckets: number[] = [];
  for (let b = first; b <= last; b++) buckets.push(b);
  return { width, buckets };
}

/** Slot id as counted: the user's slot key, as the heartbeat script forms it (lib.lua slotKeyOf). */
export function slotId(userId: string, countBy: string, sessionId: string, deviceId?: string) {
  return countBy === 'device' && deviceId
    ? `${userId}\nd:${deviceId}`
    : `${userId}\ns:${sessionId}`;
}
