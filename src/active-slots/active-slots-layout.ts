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

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv1a(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/**
 * The slot as counted: the user's slot key as the heartbeat script forms it (lib.lua slotKeyOf),
 * hashed to a 32-bit FNV-1a. An instance holds its sightings for up to 5 s; as small integers
 * they cost no heap object each, where strings outlived the young generation (GC pauses, see
 * docs/performance.md). Hash collisions undercount by ~N²/2³³ of N slots (0.01 % at a million),
 * far inside the HyperLogLog's own 0.81 % error.
 */
export function slotHash(userId: string, countBy: string, sessionId: string, deviceId?: string) {
  const byDevice = countBy === 'device' && !!deviceId;
  const hash = fnv1a(fnv1a(FNV_OFFSET, userId), byDevice ? '\nd:' : '\ns:');
  return fnv1a(hash, byDevice ? (deviceId as string) : sessionId);
}
