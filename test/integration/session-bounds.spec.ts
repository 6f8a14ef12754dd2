import { Plan } from '../../src/config/plan';
import { NO_OVERRIDE_MARKER, userKeys } from '../../src/redis/user-keys';
import { HeartbeatInput } from '../../src/sessions/session-store';
import { useStoreSuite } from '../support/store-suite';
import { STORE_TARGETS } from '../support/store-targets';
import { plan } from '../support/test-app';

/**
 * The per-user bounds (docs/architecture.md, "Bounds"): whatever one user sends, that user holds
 * at most max(USHER_MAX_ENTRIES_PER_USER, 2 x maxStreams) sessions and revocations, one device
 * at most USHER_MAX_SESSIONS_PER_DEVICE sessions under countBy device, and the other users on the
 * same Redis keep being answered normally.
 */
const PLANS: Plan[] = [
  plan('basic', { maxStreams: 2 }),
  plan('evict', { maxStreams: 1, onLimit: 'evict-oldest' }),
  plan('evict-pair', { maxStreams: 2, onLimit: 'evict-oldest' }),
  plan('device', { maxStreams: 2, countBy: 'device' }),
];
const MAX_ENTRIES = 64;
const PER_DEVICE = 8;
/** Bytes the churner's keys may take (MEMORY USAGE): 64 entries of short ids fit many times. */
const CHURN_BYTES_BOUND = 16 * 1024;
const CHURN_REQUESTS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_TARGETS)('per-user bounds on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS, { storeTimeoutMs: 10_000 });
  let n = 0;
  const newUser = () => `bound-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const beat = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    ctx.store.heartbeat({ userId, sessionId, drm: 'widevine', release: false, ...extra });
  const hasMarker = async (u: string) =>
    (await ctx.redis.zscore(userKeys(ctx.prefix, u).entries, NO_OVERRIDE_MARKER)) !== null;
  /** A user's sessions and revocations: the sorted set's members but the no-override marker. */
  const entries = async (u: string) =>
    (await ctx.redis.zcard(userKeys(ctx.prefix, u).entries)) - ((await hasMarker(u)) ? 1 : 0);
  /** The ids of a user's entries (revocations first, then live sessions least recently seen first). */
  const idsOf = (u: string) => ctx.redis.zrange(userKeys(ctx.prefix, u).entries, 0, -1);
  /** The score of a session's entry (> 0 live, < 0 revoked), or null without one. */
  const scoreOf = async (u: string, id: string) => {
    const score = await ctx.redis.zscore(userKeys(ctx.prefix, u).entries, id);
    return score === null ? null : Number(score);
  };
  const bytesOf = async (u: string) => {
    const keys = userKeys(ctx.prefix, u);
    let bytes = 0;
    for (const key of [keys.entries, keys.details]) {
      bytes += Number(await ctx.redis.call('MEMORY', 'USAGE', key)) || 0;
    }
    return bytes;
  };

  it('keeps the 64th entry, and for the 65th drops the revocation that lapses first', async () => {
    const u = newUser();
    // evict-oldest, limit 1: every new session revokes the one before it
    for (let i = 1; i <= MAX_ENTRIES; i++) {
      expect(await beat(u, `s${i}`, { plan: 'evict' })).toMatchObject({ reason: 'admitted' });
      await sleep(2); // distinct revocation times, so "lapses first" is one entry
    }
    expect(await entries(u)).toBe(MAX_ENTRIES); // 63 revocations + 1 live session
    expect(await hasMarker(u)).toBe(true); // beside them, not counted
    expect(await ctx.redis.zcard(userKeys(ctx.prefix, u).entries)).toBe(MAX_ENTRIES + 1);
    expect(await scoreOf(u, 's1')).toBeLessThan(0);

    expect(await beat(u, 's65', { plan: 'evict' })).toMatchObject({ reason: 'admitted' });
    expect(await entries(u)).toBe(MAX_ENTRIES);
    expect(await scoreOf(u, 's1')).toBeNull(); // the earliest revocation went
    expect(await scoreOf(u, 's2')).toBeLessThan(0);
    expect(await scoreOf(u, 's64')).toBeLessThan(0);
    expect(await scoreOf(u, 's65')).toBeGreaterThan(0);
    expect(await hasMarker(u)).toBe(true);
  });

  it('replaces the least recently seen of 8 sessions on one device with a 9th', async () => {
    const u = newUser();
    for (let i = 1; i <= PER_DEVICE; i++) {
      await beat(u, `d${i}`, { plan: 'device', deviceId: 'tv' });
      await sleep(2);
    }
    await beat(u, 'd1', { plan: 'device', deviceId: 'tv' }); // d2 is now least recently seen
    expect(await entries(u)).toBe(PER_DEVICE);
    expect(await beat(u, 'd9', { plan: 'device', deviceId: 'tv' })).toMatchObject({
      decision: 'allow',
      reason: 'renewed',
      activeStreams: 1,
    });
    expect(await entries(u)).toBe(PER_DEVICE);
    expect(await scoreOf(u, 'd2')).toBeNull();
    expect(await scoreOf(u, 'd1')).toBeGreaterThan(0);
    expect(await ctx.redis.hexists(userKeys(ctx.prefix, u).details, 'd2')).toBe(0);
    // the other device's slot is not touched
    expect(await beat(u, 'p1', { plan: 'device', deviceId: 'phone' })).toMatchObject({
      reason: 'admitted',
      activeStreams: 2,
    });
  });

  it.each([
    {
      way: 'evict-oldest with a new session id each time',
      request: (u: string, i: number) => beat(u, `churn-${i}`, { plan: 'evict-pair' }),
    },
    {
      way: 'one device under countBy device',
      request: (u: string, i: number) =>
        beat(u, `churn-${i}`, { plan: 'device', deviceId: 'loop-device' }),
    },
    {
      way: 'PlayReady with a new contentId each time (synthesized ids)',
      request: (u: string, i: number) =>
        ctx.heartbeats.decide({
          userId: u,
          drm: 'playready',
          messageType: 'license-request',
          deviceId: 'pc',
          contentId: `title-${i}`,
          plan: 'evict-pair',
        }),
    },
  ])('stays bounded under churn: $way', async ({ request }) => {
    const churner = newUser();
    const others = [newUser(), newUser(), newUser()];
    for (const o of others) await beat(o, 'steady');
    const otherReasons = new Set<string>();
    const BATCH = 50;
    for (let i = 0; i < CHURN_REQUESTS; i += BATCH) {
      const churn = Array.from({ length: BATCH }, (_, k) => request(churner, i + k));
      const steady = others.map((o) => beat(o, 'steady'));
      await Promise.all(churn);
      for (const d of await Promise.all(steady)) otherReasons.add(d.reason);
    }
    expect([...otherReasons]).toEqual(['renewed']);
    expect(await entries(churner)).toBeLessThanOrEqual(MAX_ENTRIES);
    const bytes = await bytesOf(churner);
    process.stdout.write(`churn (${target.name}): ${bytes} B stored for the churner\n`);
    expect(bytes).toBeLessThan(CHURN_BYTES_BOUND);
  });

  it('denies a new slot limit_exceeded when the bound is full of other devices', async () => {
    const u = newUser();
    await ctx.redis.hset(userKeys(ctx.prefix, u).override, { maxStreams: '11' }); // bound max(64, 22)
    // 9 devices x 7 sessions + 1 = 64 entries in 10 device slots, and no revocation
    for (let d = 0; d < 9; d++) {
      await Promise.all(
        Array.from({ length: PER_DEVICE - 1 }, (_, i) =>
          beat(u, `dev${d}-s${i}`, { plan: 'device', deviceId: `dev${d}` }),
        ),
      );
    }
    await beat(u, 'dev9-s0', { plan: 'device', deviceId: 'dev9' });
    expect(await entries(u)).toBe(MAX_ENTRIES);
    // an 11th device fits the limit but holds no session to give up: denied, nothing written
    expect(await beat(u, 'new', { plan: 'device', deviceId: 'dev10' })).toMatchObject({
      decision: 'deny',
      reason: 'limit_exceeded',
      activeStreams: 10,
    });
    expect(await scoreOf(u, 'new')).toBeNull();
    // a terminated session leaves a revocation, which goes before any session does
    await ctx.store.terminate(u, 'dev0-s0');
    expect(await scoreOf(u, 'dev0-s0')).toBeLessThan(0);
    expect(await beat(u, 'dev1-extra', { plan: 'device', deviceId: 'dev1' })).toMatchObject({
      reason: 'renewed',
    });
    expect(await scoreOf(u, 'dev0-s0')).toBeNull();
    expect(await entries(u)).toBe(MAX_ENTRIES);
    // with no revocation left, the requesting device's least recently seen session goes
    const before = await idsOf(u);
    expect(await beat(u, 'dev2-extra', { plan: 'device', deviceId: 'dev2' })).toMatchObject({
      reason: 'renewed',
    });
    const after = await idsOf(u);
    // the entries are least recently seen first: dev2's first is its least recently seen
    expect(before.filter((id) => !after.includes(id))).toEqual([
      before.find((id) => id.startsWith('dev2-')),
    ]);
    expect(await entries(u)).toBe(MAX_ENTRIES);
  });
});
