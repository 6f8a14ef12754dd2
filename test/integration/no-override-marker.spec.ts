import { AppConfig } from '../../src/config/app-config';
import { APP_CONFIG } from '../../src/config/config.module';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PlanRegistry } from '../../src/plans/plan-registry';
import { RedisClient, waitUntilReady } from '../../src/redis/redis-connection';
import { NO_OVERRIDE_MARKER, userKeys } from '../../src/redis/user-keys';
import { WriteCoalescer } from '../../src/redis/write-coalescer';
import { loadSessionScripts } from '../../src/sessions/heartbeat-script';
import { HeartbeatInput, SessionStore } from '../../src/sessions/session-store';
import { sessionStoreOptions } from '../../src/sessions/sessions.module';
import { useStoreSuite } from '../support/store-suite';
import { DECISION_PLANS as PLANS } from '../support/store-plans';
import { STORE_TARGETS } from '../support/store-targets';

/**
 * The no-override marker (docs/architecture.md, "Key layout"): member `!` of a user's entries,
 * present only while the user has no override, scored -D where D is when both of the user's
 * session keys expire. The renewal trusts it instead of reading the override and sets no TTL
 * until less than one ttl of that lease is left; whatever sets an override removes it.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The plans' ttl: 60 s + 30 s, and 1 s + 1 s for the short ones. */
const TTL = 90_000;
const SHORT_TTL = 2_000;

describe.each(STORE_TARGETS)('the no-override marker on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS);
  let n = 0;
  const newUser = () => `marker-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const beatOn =
    (store: () => SessionStore) =>
    (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
      store().heartbeat({ userId, sessionId, drm: 'widevine', release: false, ...extra });
  const beat = beatOn(() => ctx.store);
  const release = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    beat(userId, sessionId, { ...extra, release: true });
  const keysOf = (u: string) => userKeys(ctx.prefix, u);
  const redisMs = async () => {
    const [seconds, micros] = await ctx.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  /** The marker's D (when the details expire, Redis ms), or null without a marker. */
  const leaseOf = async (u: string) => {
    const score = await ctx.redis.zscore(keysOf(u).entries, NO_OVERRIDE_MARKER);
    return score === null ? null : -Number(score);
  };
  /** When a key expires (Redis ms; -1 without a TTL, -2 without the key). */
  const expiresAt = async (key: string) => Number(await ctx.redis.call('PEXPIRETIME', key));
  /**
   * A key of the wrong type where the override lives: a script that read it would fail with
   * WRONGTYPE, so a call that succeeds did not read it.
   */
  const poisonOverride = (u: string) => ctx.redis.set(keysOf(u).override, 'not a hash');

  it('renews without reading the override or setting a TTL while the lease is far', async () => {
    const u = newUser();
    const keys = keysOf(u);
    await beat(u, 'a');
    await beat(u, 'b');
    const lease = await leaseOf(u);
    expect(lease).not.toBeNull();
    expect(lease).toBeGreaterThan((await redisMs()) + 10 * TTL);
    for (const key of [keys.entries, keys.details]) expect(await expiresAt(key)).toBe(lease);
    await poisonOverride(u);
    await sleep(20);
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed', activeStreams: 2 });
    // neither key's expiry has moved, nor the marker
    for (const key of [keys.entries, keys.details]) expect(await expiresAt(key)).toBe(lease);
    expect(await leaseOf(u)).toBe(lease);
    // the full path trusts the marker too: a new session over the limit is denied without a read
    expect(await beat(u, 'c')).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
    // without the marker the same renewal reads the override (and fails on the poisoned key)
    await ctx.redis.zrem(keys.entries, NO_OVERRIDE_MARKER);
    await expect(beat(u, 'a')).rejects.toMatchObject({ kind: 'script' });
    await ctx.redis.del(keys.override);
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed' });
    expect(await leaseOf(u)).not.toBeNull(); // written again by that full call
  });

  it('is removed by setting an override, and the very next renewal obeys the override', async () => {
    const u = newUser();
    await beat(u, 'a');
    await sleep(5);
    await beat(u, 'b');
    expect(await leaseOf(u)).not.toBeNull();
    await ctx.overrides.set(u, { maxStreams: 1 });
    expect(await leaseOf(u)).toBeNull();
    // reject-new: the newer slot goes (and is revoked), the older one renews
    expect(await beat(u, 'b')).toMatchObject({
      decision: 'deny',
      reason: 'limit_exceeded',
      removed: { cause: 'limit_lowered', slots: 1 },
    });
    expect(await beat(u, 'a')).toMatchObject({
      reason: 'renewed',
      maxStreams: 1,
      activeStreams: 1,
    });
    expect(await leaseOf(u)).toBeNull(); // never while the override holds
    // with an override the details get the entries' TTL, as before the marker
    const keys = keysOf(u);
    expect(await expiresAt(keys.details)).toBe(await expiresAt(keys.entries));
    // removing the override needs nothing: the next call finds none and writes the marker
    await ctx.overrides.remove(u);
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed', maxStreams: 2 });
    expect(await leaseOf(u)).not.toBeNull();
  });

  it('notices an override that expires by its TTL', async () => {
    const u = newUser();
    await beat(u, 'a');
    await ctx.overrides.set(u, { plan: 'three', expiresAt: (await redisMs()) + 1000 });
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed', plan: 'three', maxStreams: 3 });
    expect(await leaseOf(u)).toBeNull();
    await sleep(1200);
    expect(await ctx.redis.exists(keysOf(u).override)).toBe(0);
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed', plan: 'basic', maxStreams: 2 });
    expect(await leaseOf(u)).not.toBeNull();
    // and the renewals after take the fast path again
    await poisonOverride(u);
    expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed', plan: 'basic' });
    await ctx.redis.del(keysOf(u).override);
  });

  it('gives a details hash started again the lease the marker names', async () => {
    const u = newUser();
    const keys = keysOf(u);
    // evict-oldest, limit 2: a is revoked, then b and c are released: no live session is left
    for (const s of ['a', 'b', 'c']) await beat(u, s, { plan: 'evict' });
    for (const s of ['b', 'c']) await release(u, s, { plan: 'evict' });
    expect(await ctx.redis.exists(keys.details)).toBe(0);
    const lease = await leaseOf(u);
    expect(lease).not.toBeNull();
    expect(await ctx.redis.zrange(keys.entries, 0, -1)).toEqual([NO_OVERRIDE_MARKER, 'a']);
    // a new session starts a new details hash: it expires with the lease, never without a TTL
    expect(await beat(u, 'd', { plan: 'evict' })).toMatchObject({ reason: 'admitted' });
    expect(await expiresAt(keys.details)).toBe(lease);
    expect(await expiresAt(keys.details)).toBeGreaterThanOrEqual(await expiresAt(keys.entries));
    // releasing the last session of a user with no revocation takes the marker and both keys
    const v = newUser();
    await beat(v, 'a');
    await release(v, 'a');
    expect(await ctx.redis.exists(keysOf(v).entries, keysOf(v).details)).toBe(0);
  });

  it('is not a session to the listing, to terminate or to the bound', async () => {
    const u = newUser();
    const keys = keysOf(u);
    // evict-oldest, limit 2: 64 admissions leave 62 revocations and 2 live sessions, the bound
    for (let i = 1; i <= 64; i++) {
      await beat(u, `s${i}`, { plan: 'evict' });
      await sleep(2); // distinct revocation times, so "lapses first" is one entry
    }
    expect(await ctx.redis.zcard(keys.entries)).toBe(64 + 1);
    expect(await leaseOf(u)).not.toBeNull();
    const listed = await ctx.store.userSessions(u);
    expect(listed.activeStreams).toBe(2);
    expect(listed.sessions.map((s) => s.sessionId).sort()).toEqual(['s63', 's64']);
    // terminating an unknown id at the bound drops the revocation that lapses first, not the marker
    const lease = await leaseOf(u);
    expect((await ctx.store.terminate(u, 'ghost')).sessions).toEqual([]);
    expect(await ctx.redis.zscore(keys.entries, 'ghost')).not.toBeNull();
    expect(await ctx.redis.zscore(keys.entries, 's1')).toBeNull();
    expect(await ctx.redis.zcard(keys.entries)).toBe(64 + 1);
    expect(await leaseOf(u)).toBe(lease);
    // terminating everyone ends the two live sessions only
    const ended = await ctx.store.terminate(u);
    expect(ended.sessions.map((s) => s.sessionId).sort()).toEqual(['s63', 's64']);
    expect(await ctx.redis.zcard(keys.entries)).toBe(64 + 1);
    expect((await ctx.store.userSessions(u)).sessions).toEqual([]);
    // the revocations made now need one ttl: the lease, which both keys keep, covers it
    expect(await expiresAt(keys.entries)).toBe(await leaseOf(u));
    expect(await leaseOf(u)).toBeGreaterThanOrEqual((await redisMs()) + TTL);
    // and the next admission finds room among the revocations, the marker left alone
    expect(await beat(u, 'next', { plan: 'evict' })).toMatchObject({
      reason: 'admitted',
      activeStreams: 1,
    });
    expect(await ctx.redis.zcard(keys.entries)).toBe(64 + 1);
    expect(await leaseOf(u)).not.toBeNull();
  });

  describe('with a lease of two ttls (LEASE_TTLS = 1)', () => {
    let client: RedisClient;
    let store: SessionStore;
    const shortBeat = beatOn(() => store);

    beforeAll(async () => {
      client = ctx.redis.duplicate();
      await waitUntilReady(client, 10_000);
      const scripts = loadSessionScripts();
      const lua = scripts.usherHeartbeat;
      const short = lua.replace('local LEASE_TTLS = 10', 'local LEASE_TTLS = 1');
      expect(short).not.toBe(lua);
      store = new SessionStore(
        { hot: client, hotWrites: new WriteCoalescer(client), control: client },
        sessionStoreOptions(ctx.app.get<AppConfig>(APP_CONFIG)),
        ctx.app.get(PlanRegistry),
        ctx.app.get(MetricsService),
        { ...scripts, usherHeartbeat: short },
      );
    });
    afterAll(() => {
      client?.disconnect();
    });

    it('keeps both keys past every live entry, the details as long as the entries, renewing once per lease', async () => {
      const u = newUser();
      const keys = keysOf(u);
      await shortBeat(u, 'a', { plan: 'short' });
      const leases = new Set<number>();
      let renewals = 0;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const before = await redisMs();
        expect(await shortBeat(u, 'a', { plan: 'short' })).toMatchObject({ reason: 'renewed' });
        renewals++;
        const lease = await leaseOf(u);
        expect(lease).not.toBeNull();
        leases.add(lease as number);
        // the marker says when both keys expire: at least one ttl ahead, two at most
        expect(await expiresAt(keys.details)).toBe(lease);
        expect(await expiresAt(keys.entries)).toBe(lease);
        expect(lease).toBeGreaterThanOrEqual(before + SHORT_TTL);
        expect(lease).toBeLessThanOrEqual((await redisMs()) + 2 * SHORT_TTL);
        await sleep(250);
      }
      // extended at least once in 5 s (every ~2 s), and not by every renewal
      expect(leases.size).toBeGreaterThanOrEqual(2);
      expect(leases.size).toBeLessThan(renewals / 2);
      // the user goes away: both keys go at the lease
      const lastLease = Math.max(...leases);
      await sleep(Math.max(0, lastLease - (await redisMs())) + 100);
      expect(await ctx.redis.exists(keys.entries, keys.details)).toBe(0);
    });
  });
});
