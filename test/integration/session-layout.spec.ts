import { NO_OVERRIDE_MARKER, userKeys } from '../../src/redis/user-keys';
import { HeartbeatInput } from '../../src/sessions/session-store';
import { useStoreSuite } from '../support/store-suite';
import { STORE_TARGETS } from '../support/store-targets';
import { DECISION_PLANS as PLANS } from '../support/store-plans';

/**
 * The key layout support staff read with redis-cli (docs/architecture.md, "Key layout"): a
 * sorted set of live sessions (score = last seen, Redis ms) and revocations (score = -revoked
 * at) and a details hash beside it, both under the user's hash tag. While the user has no
 * override the sorted set holds the no-override marker `!` too, scored -D: both keys expire at
 * D, a lease of 11 ttls that writes keep at least one ttl ahead. With an override, each key has
 * the TTL its newest member needs.
 */

/** The keys' lease without an override, in ttls: the ttl plus LEASE_TTLS (10) more. */
const LEASE_TTLS = 11;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_TARGETS)('session key layout on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS);
  let n = 0;
  const newUser = () => `layout-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const beat = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    ctx.store.heartbeat({ userId, sessionId, drm: 'widevine', release: false, ...extra });
  const release = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    beat(userId, sessionId, { ...extra, release: true });
  const redisMs = async () => {
    const [seconds, micros] = await ctx.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  /** The whole stored state of a user, for "nothing changed" comparisons. */
  /** The whole stored state of a user, for "nothing changed" comparisons. */
  const snapshot = async (u: string) => {
    const keys = userKeys(ctx.prefix, u);
    return {
      entries: await ctx.redis.zrange(keys.entries, 0, -1, 'WITHSCORES'),
      details: await ctx.redis.hgetall(keys.details),
    };
  };

  it('keeps live sessions in a sorted set scored by Redis-clock ms, revocations negative', async () => {
    const u = newUser();
    const before = await redisMs();
    await beat(u, 'a', { plan: 'evict' });
    await beat(u, 'b', { plan: 'evict', deviceId: 'tv', contentId: 'movie', drm: 'playready' });
    await beat(u, 'c', { plan: 'evict' }); // evicts a: a revocation
    const after = await redisMs();
    const keys = userKeys(ctx.prefix, u);
    expect(await ctx.redis.type(keys.entries)).toBe('zset');
    expect(await ctx.redis.type(keys.details)).toBe('hash');
    const flat = await ctx.redis.zrange(keys.entries, 0, -1, 'WITHSCORES');
    const scores = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i], Number(flat[i + 1]));
    expect([...scores.keys()].sort()).toEqual([NO_OVERRIDE_MARKER, 'a', 'b', 'c']);
    for (const live of ['b', 'c']) {
      expect(scores.get(live)).toBeGreaterThanOrEqual(before);
      expect(scores.get(live)).toBeLessThanOrEqual(after);
    }
    expect(-(scores.get('a') ?? 0)).toBeGreaterThanOrEqual(before);
    expect(-(scores.get('a') ?? 0)).toBeLessThanOrEqual(after);
    // the marker: no override, and the details live until -score (a lease of 11 ttls of 90 s)
    const lease = -(scores.get(NO_OVERRIDE_MARKER) ?? 0);
    expect(lease).toBeGreaterThanOrEqual(before + LEASE_TTLS * 90_000);
    expect(lease).toBeLessThanOrEqual(after + LEASE_TTLS * 90_000);
    expect(flat.slice(0, 2)).toEqual([NO_OVERRIDE_MARKER, String(-lease)]); // it sorts first
    // details of live sessions only: drm letter, startedAt in 8 base-36 digits, deviceId|contentId
    const details = await ctx.redis.hgetall(keys.details);
    expect(details).toEqual({
      b: expect.stringMatching(/^p[0-9a-z]{8}tv\|movie$/),
      c: expect.stringMatching(/^w[0-9a-z]{8}\|$/),
    });
    const startedAt = parseInt(details.b.slice(1, 9), 36);
    expect(startedAt).toBeGreaterThanOrEqual(before);
    expect(startedAt).toBeLessThanOrEqual(after);
  });

  it('answers a renewal alike on the fast path (no override) and the full one (an override)', async () => {
    const [fast, full] = [newUser(), newUser()];
    // an override that changes nothing still sends the renewal down the full path
    await ctx.redis.hset(userKeys(ctx.prefix, full).override, 'maxStreams', '2');
    for (const u of [fast, full]) {
      await beat(u, 'a', { deviceId: 'tv' });
      await beat(u, 'b');
    }
    const answers = await Promise.all([fast, full].map((u) => beat(u, 'a')));
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({
      decision: 'allow',
      reason: 'renewed',
      plan: 'basic',
      activeStreams: 2,
      maxStreams: 2,
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
      sessions: [],
    });
  });

  it('puts every per-user key under the hash tag, the session keys with the lease (with an override: interval + grace)', async () => {
    const [u, overridden] = [newUser(), newUser()];
    await ctx.overrides.set(overridden, { maxStreams: 2 });
    for (const user of [u, overridden]) {
      await beat(user, 'a', { plan: 'evict' });
      await beat(user, 'b', { plan: 'evict' });
      await beat(user, 'c', { plan: 'evict' });
    }
    const keys = userKeys(ctx.prefix, u);
    for (const key of [keys.entries, keys.details, keys.override]) {
      expect(key).toContain(`{${u}}`);
    }
    // the marker's score is when both keys expire: 11 ttls of 90 s from the last write
    const lease = -Number(await ctx.redis.zscore(keys.entries, NO_OVERRIDE_MARKER));
    for (const key of [keys.entries, keys.details]) {
      expect(Number(await ctx.redis.call('PEXPIRETIME', key))).toBe(lease);
      const ttl = await ctx.redis.pttl(key);
      expect(ttl).toBeGreaterThan(LEASE_TTLS * 90_000 - 5_000);
      expect(ttl).toBeLessThanOrEqual(LEASE_TTLS * 90_000);
    }
    const other = userKeys(ctx.prefix, overridden);
    expect(await ctx.redis.zscore(other.entries, NO_OVERRIDE_MARKER)).toBeNull();
    for (const key of [other.entries, other.details]) {
      const ttl = await ctx.redis.pttl(key);
      expect(ttl).toBeGreaterThan(85_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
    }
  });

  it('drops lapsed sessions and revocations at the next call that writes more, and the keys once empty', async () => {
    const u = newUser();
    const keys = userKeys(ctx.prefix, u);
    await beat(u, 'a', { plan: 'short-pair' });
    await beat(u, 'b', { plan: 'short-pair' });
    await beat(u, 'c', { plan: 'short-pair' }); // evicts a: a revocation for 2 s
    await sleep(1000);
    expect(await beat(u, 'c', { plan: 'short-pair' })).toMatchObject({ reason: 'renewed' });
    expect(await ctx.redis.pttl(keys.entries)).toBeLessThanOrEqual(LEASE_TTLS * 2000);
    await sleep(1100);
    // b and the revocation of a have lapsed: a renewal counts without them and leaves them
    expect(await beat(u, 'c', { plan: 'short-pair' })).toMatchObject({
      reason: 'renewed',
      activeStreams: 1,
    });
    expect(await ctx.redis.zcard(keys.entries)).toBe(3 + 1); // and the marker
    // an admission drops them, with their details
    expect(await beat(u, 'd', { plan: 'short-pair' })).toMatchObject({
      reason: 'admitted',
      activeStreams: 2,
    });
    expect((await ctx.redis.zrange(keys.entries, 0, -1)).sort()).toEqual([
      NO_OVERRIDE_MARKER,
      'c',
      'd',
    ]);
    expect(Object.keys(await ctx.redis.hgetall(keys.details)).sort()).toEqual(['c', 'd']);
    for (const id of ['c', 'd']) {
      expect(await release(u, id, { plan: 'short-pair' })).toMatchObject({ reason: 'released' });
    }
    expect(await ctx.redis.exists(keys.entries, keys.details)).toBe(0);
  });

  it('shortens the TTL to what the newest member needs after a release (with an override; else the lease holds)', async () => {
    const [u, overridden] = [newUser(), newUser()];
    await ctx.overrides.set(overridden, { maxStreams: 2 });
    for (const user of [u, overridden]) {
      await beat(user, 'a', { plan: 'short-pair' });
    }
    await sleep(1000);
    for (const user of [u, overridden]) {
      await beat(user, 'b', { plan: 'short-pair' });
      await release(user, 'b', { plan: 'short-pair' }); // a, seen 1 s ago, needs 1 s more
    }
    const other = userKeys(ctx.prefix, overridden);
    expect(await ctx.redis.zscore(other.entries, NO_OVERRIDE_MARKER)).toBeNull();
    expect(await ctx.redis.pttl(other.entries)).toBeLessThanOrEqual(1100);
    expect(await ctx.redis.pttl(other.details)).toBeLessThanOrEqual(1100);
    // without an override both keys keep the lease the marker names
    const keys = userKeys(ctx.prefix, u);
    const lease = -Number(await ctx.redis.zscore(keys.entries, NO_OVERRIDE_MARKER));
    expect(lease - (await redisMs())).toBeGreaterThan(LEASE_TTLS * 2000 - 2000);
    for (const key of [keys.entries, keys.details]) {
      expect(Number(await ctx.redis.call('PEXPIRETIME', key))).toBe(lease);
    }
  });

  it('writes nothing for a deny, a revoked session or the release of an unknown session', async () => {
    const u = newUser();
    await beat(u, 'a', { plan: 'evict' });
    await beat(u, 'b', { plan: 'evict' });
    await beat(u, 'c', { plan: 'evict' }); // evicts a
    const written = await snapshot(u);
    expect(await beat(u, 'd', { plan: 'basic' })).toMatchObject({ reason: 'limit_exceeded' });
    expect(await beat(u, 'a', { plan: 'evict' })).toMatchObject({ reason: 'session_revoked' });
    expect(await release(u, 'ghost', { plan: 'evict' })).toMatchObject({ reason: 'released' });
    expect(await snapshot(u)).toEqual(written);
  });

  it('leaves no session key without a TTL after any path', async () => {
    const users = [newUser(), newUser()];
    for (const u of users) {
      await beat(u, 'a', { plan: 'short-evict' });
      await beat(u, 'b', { plan: 'short-evict' });
      await beat(u, 'c', { plan: 'device', deviceId: 'tv' });
      await release(u, 'c', { plan: 'device' });
      await ctx.store.terminate(u, 'ghost');
      await ctx.store.terminate(u);
    }
    for (const u of users) {
      const keys = userKeys(ctx.prefix, u);
      for (const key of [keys.entries, keys.details]) {
        if (await ctx.redis.exists(key)) expect(await ctx.redis.pttl(key)).toBeGreaterThan(0);
      }
      expect(await ctx.redis.exists(keys.override)).toBe(0);
    }
  });
});
