import { userKeys } from '../../src/redis/user-keys';
import { HeartbeatInput, StoreDecision } from '../../src/sessions/session-store';
import { useStoreSuite } from '../support/store-suite';
import { STORE_TARGETS } from '../support/store-targets';
import { DECISION_PLANS as PLANS } from '../support/store-plans';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_TARGETS)('heartbeat decisions on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS);
  let n = 0;
  const newUser = () => `user-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const beat = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    ctx.store.heartbeat({ userId, sessionId, drm: 'widevine', release: false, ...extra });
  const release = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    beat(userId, sessionId, { ...extra, release: true });
  const ids = (d: StoreDecision) => d.sessions.map((s) => s.sessionId).sort();

  describe('admission and renewal', () => {
    it('admits a new slot while the user has fewer than maxStreams live slots', async () => {
      const u = newUser();
      expect(await beat(u, 'a')).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 1,
      });
      expect(await beat(u, 'b')).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 2,
      });
    });

    it('renews a live slot, for license-request and renewal alike', async () => {
      const u = newUser();
      await beat(u, 'a');
      expect(await beat(u, 'a')).toMatchObject({
        decision: 'allow',
        reason: 'renewed',
        activeStreams: 1,
      });
    });

    it('answers the effective plan with its cadence', async () => {
      const d = await beat(newUser(), 'a', { plan: 'short' });
      expect(d).toMatchObject({
        plan: 'short',
        countBy: 'session',
        maxStreams: 1,
        renewalIntervalSeconds: 1,
        graceSeconds: 1,
      });
    });

    it('records the session with Redis-clock times and the reported ids', async () => {
      const u = newUser();
      const [seconds] = await ctx.redis.time();
      await beat(u, 'a', { deviceId: 'dev', contentId: 'movie', drm: 'fairplay' });
      const { sessions } = await ctx.store.userSessions(u);
      expect(sessions).toEqual([
        expect.objectContaining({
          sessionId: 'a',
          deviceId: 'dev',
          contentId: 'movie',
          drm: 'fairplay',
        }),
      ]);
      expect(Math.abs(sessions[0].startedAt - Number(seconds) * 1000)).toBeLessThan(2000);
    });
  });

  describe('at the limit', () => {
    it('reject-new denies a new slot and lists the live slots as conflicts', async () => {
      const u = newUser();
      await beat(u, 'a', { deviceId: 'd1', contentId: 'm1' });
      await beat(u, 'b');
      const d = await beat(u, 'c');
      expect(d).toMatchObject({ decision: 'deny', reason: 'limit_exceeded', activeStreams: 2 });
      expect(ids(d)).toEqual(['a', 'b']);
      expect(d.sessions.find((s) => s.sessionId === 'a')).toMatchObject({
        deviceId: 'd1',
        contentId: 'm1',
        drm: 'widevine',
      });
      expect(await beat(u, 'a')).toMatchObject({ reason: 'renewed' });
    });

    it('evict-oldest admits the new slot and revokes the slot with the earliest start', async () => {
      const u = newUser();
      await beat(u, 'old', { plan: 'evict' });
      await sleep(5);
      await beat(u, 'mid', { plan: 'evict' });
      const d = await beat(u, 'new', { plan: 'evict' });
      expect(d).toMatchObject({ decision: 'allow', reason: 'admitted', activeStreams: 2 });
      expect(d.removed).toEqual({ cause: 'evict_oldest', slots: 1 });
      expect(ids(d)).toEqual(['old']);
      expect(await beat(u, 'old', { plan: 'evict' })).toMatchObject({
        decision: 'deny',
        reason: 'session_revoked',
      });
      expect(await beat(u, 'mid', { plan: 'evict' })).toMatchObject({ reason: 'renewed' });
    });

    it('maxStreams 0 denies everything', async () => {
      const u = newUser();
      await ctx.redis.hset(userKeys(ctx.prefix, u).override, 'maxStreams', '0');
      expect(await beat(u, 'a', { plan: 'evict' })).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
      });
    });
  });

  describe('lapse and revocation (1 s interval + 1 s grace)', () => {
    it('drops slots whose last heartbeat is older than interval + grace', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'short' });
      expect(await beat(u, 'b', { plan: 'short' })).toMatchObject({ reason: 'limit_exceeded' });
      await sleep(2100);
      expect(await beat(u, 'b', { plan: 'short' })).toMatchObject({
        reason: 'admitted',
        activeStreams: 1,
      });
    });

    it('keeps a slot live while it renews inside the window', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'short' });
      for (let i = 0; i < 3; i++) {
        await sleep(900);
        expect(await beat(u, 'a', { plan: 'short' })).toMatchObject({ reason: 'renewed' });
      }
      expect(await beat(u, 'b', { plan: 'short' })).toMatchObject({ reason: 'limit_exceeded' });
    });

    it('denies a revoked session until its revocation lapses', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'short-evict' });
      await beat(u, 'b', { plan: 'short-evict' });
      expect(await beat(u, 'a', { plan: 'short-evict' })).toMatchObject({
        reason: 'session_revoked',
      });
      await sleep(2100);
      // b lapsed too (it did not renew), so a is a new slot again
      expect(await beat(u, 'a', { plan: 'short-evict' })).toMatchObject({ reason: 'admitted' });
    });
  });

  describe('the rank rule (a live slot renews only while it ranks within maxStreams by start)', () => {
    async function threeLive(u: string, p: string) {
      for (const s of ['first', 'second', 'third']) {
        expect(await beat(u, s, { plan: p })).toMatchObject({ reason: 'admitted' });
        await sleep(5);
      }
    }

    it('reject-new: after the limit is lowered, the oldest slot renews and newer ones are denied', async () => {
      const u = newUser();
      await threeLive(u, 'three');
      await ctx.overrides.set(u, { maxStreams: 1 });
      expect(await beat(u, 'third', { plan: 'three' })).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
        removed: { cause: 'limit_lowered', slots: 1 },
      });
      expect(await beat(u, 'first', { plan: 'three' })).toMatchObject({
        reason: 'renewed',
        activeStreams: 2,
      });
      const second = await beat(u, 'second', { plan: 'three' });
      expect(second).toMatchObject({ reason: 'limit_exceeded', activeStreams: 1 });
      expect(ids(second)).toEqual(['first']);
      // a slot removed by the rank rule is revoked: it cannot come back and take a slot
      expect(await beat(u, 'second', { plan: 'three' })).toMatchObject({
        reason: 'session_revoked',
      });
    });

    it('evict-oldest: the newest slots keep playing and the oldest are denied', async () => {
      const u = newUser();
      await threeLive(u, 'three');
      await ctx.overrides.set(u, { maxStreams: 1, onLimit: 'evict-oldest' });
      expect(await beat(u, 'first', { plan: 'three' })).toMatchObject({ reason: 'limit_exceeded' });
      expect(await beat(u, 'third', { plan: 'three' })).toMatchObject({ reason: 'renewed' });
      expect(await beat(u, 'second', { plan: 'three' })).toMatchObject({
        reason: 'limit_exceeded',
      });
    });
  });

  describe('countBy device', () => {
    it('counts all sessions on one device as one slot', async () => {
      const u = newUser();
      expect(await beat(u, 'a', { plan: 'device', deviceId: 'tv' })).toMatchObject({
        reason: 'admitted',
      });
      expect(await beat(u, 'b', { plan: 'device', deviceId: 'tv' })).toMatchObject({
        decision: 'allow',
        activeStreams: 1,
      });
      expect(await beat(u, 'c', { plan: 'device', deviceId: 'phone' })).toMatchObject({
        reason: 'limit_exceeded',
      });
    });

    it('frees the device slot when its last session is released', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'device', deviceId: 'tv' });
      await beat(u, 'b', { plan: 'device', deviceId: 'tv' });
      expect(await release(u, 'a', { plan: 'device' })).toMatchObject({
        reason: 'released',
        activeStreams: 1,
      });
      expect(await beat(u, 'c', { plan: 'device', deviceId: 'phone' })).toMatchObject({
        reason: 'limit_exceeded',
      });
      expect(await release(u, 'b', { plan: 'device' })).toMatchObject({
        reason: 'released',
        activeStreams: 0,
      });
      expect(await beat(u, 'c', { plan: 'device', deviceId: 'phone' })).toMatchObject({
        reason: 'admitted',
      });
    });

    it('needs a deviceId, and refuses without one before writing anything', async () => {
      const u = newUser();
      await expect(beat(u, 'a', { plan: 'device' })).rejects.toThrow(/deviceId/);
      const keys = userKeys(ctx.prefix, u);
      expect(await ctx.redis.exists(keys.entries, keys.details)).toBe(0);
    });
  });

  describe('release', () => {
    it('removes the session and frees its slot', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'single' });
      expect(await release(u, 'a', { plan: 'single' })).toMatchObject({
        decision: 'allow',
        reason: 'released',
        activeStreams: 0,
      });
      expect(await beat(u, 'b', { plan: 'single' })).toMatchObject({ reason: 'admitted' });
    });

    it('is the same no-op answer for an unknown session', async () => {
      const u = newUser();
      await beat(u, 'a');
      expect(await release(u, 'ghost')).toMatchObject({
        decision: 'allow',
        reason: 'released',
        activeStreams: 1,
      });
    });
  });

  describe('concurrency', () => {
    it('counts 10 parallel heartbeats of one session once', async () => {
      const u = newUser();
      const all = await Promise.all(Array.from({ length: 10 }, () => beat(u, 'same')));
      expect(all.filter((d) => d.reason === 'admitted')).toHaveLength(1);
      expect(all.filter((d) => d.reason === 'renewed')).toHaveLength(9);
      expect((await ctx.store.userSessions(u)).activeStreams).toBe(1);
    });

    it('100 parallel admissions of distinct sessions, limit 2, 20 rounds: exactly 2 admitted each round', async () => {
      for (let round = 0; round < 20; round++) {
        const u = newUser();
        const all = await Promise.all(Array.from({ length: 100 }, (_, i) => beat(u, `s${i}`)));
        expect(all.filter((d) => d.decision === 'allow')).toHaveLength(2);
        expect(all.filter((d) => d.reason === 'limit_exceeded')).toHaveLength(98);
      }
    });
  });

  describe('plan resolution', () => {
    it('uses the request plan, else the override plan, else the default, then override fields', async () => {
      const u = newUser();
      expect(await beat(u, 'a')).toMatchObject({ plan: 'basic', maxStreams: 2 });
      await ctx.overrides.set(u, { plan: 'three' });
      expect(await beat(u, 'a')).toMatchObject({ plan: 'three', maxStreams: 3 });
      expect(await beat(u, 'a', { plan: 'single' })).toMatchObject({
        plan: 'single',
        maxStreams: 1,
      });
      await ctx.overrides.set(u, { plan: 'three', maxStreams: 7 });
      expect(await beat(u, 'a', { plan: 'single' })).toMatchObject({
        plan: 'single',
        maxStreams: 7,
      });
    });

    it('ignores an override whose expiresAt has passed', async () => {
      const u = newUser();
      const [seconds] = await ctx.redis.time();
      await ctx.redis.hset(userKeys(ctx.prefix, u).override, {
        maxStreams: '9',
        expiresAt: String(Number(seconds) * 1000 - 1000),
      });
      expect(await beat(u, 'a')).toMatchObject({ maxStreams: 2 });
    });
  });
});
