import { Plan } from '../../src/config/plan';
import { HeartbeatRequest } from '../../src/heartbeat/heartbeat.schema';
import { userKeys } from '../../src/redis/user-keys';
import { useStoreSuite } from '../support/store-suite';
import { STORE_TARGETS } from '../support/store-targets';
import { plan } from '../support/test-app';

/**
 * Downloads (persistent licences, docs/admin-api.md "Downloads"): counted apart from streams in
 * a sorted set scored by when each lapses, up to the plan's maxDownloads.
 */
const PLANS: Plan[] = [
  plan('basic', { maxStreams: 1 }),
  plan('offline', { maxStreams: 1, maxDownloads: 2, downloadDays: 7, downloadPlaybackHours: 48 }),
];

describe.each(STORE_TARGETS)('downloads on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS);
  let n = 0;
  const newUser = () => `dl-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const download = (userId: string, sessionId: string, extra: Partial<HeartbeatRequest> = {}) =>
    ctx.heartbeats.decide({
      userId,
      sessionId,
      drm: 'widevine',
      messageType: 'license-request',
      deviceId: 'phone',
      contentId: `title-${sessionId}`,
      licenseType: 'persistent',
      plan: 'offline',
      ...extra,
    });
  const stream = (userId: string, sessionId: string) =>
    ctx.heartbeats.decide({
      userId,
      sessionId,
      drm: 'widevine',
      messageType: 'license-request',
      plan: 'offline',
    });

  it('admits two, denies the third with the downloads as conflicts, and still admits a stream', async () => {
    const u = newUser();
    const first = await download(u, 'd1');
    expect(first).toMatchObject({
      decision: 'allow',
      reason: 'admitted',
      renewAfterSeconds: 0,
      expiresInSeconds: 7 * 86400,
      activeStreams: 0,
      license: {
        canRenew: false,
        canPersist: true,
        licenseDurationSeconds: 7 * 86400,
        playbackDurationSeconds: 48 * 3600,
      },
    });
    expect(await download(u, 'd2')).toMatchObject({ reason: 'admitted' });
    const third = await download(u, 'd3');
    expect(third).toMatchObject({ decision: 'deny', reason: 'download_limit_exceeded' });
    expect(third).not.toHaveProperty('license');
    expect(third.conflicts.map((c) => c.sessionId).sort()).toEqual(['d1', 'd2']);
    expect(third.conflicts[0]).toMatchObject({ deviceId: 'phone', drm: 'widevine' });
    // downloads never count against maxStreams (1 here)
    expect(await stream(u, 'live')).toMatchObject({ reason: 'admitted', activeStreams: 1 });
    // a licence for a download it already holds is reissued, not counted again
    expect(await download(u, 'd1')).toMatchObject({ decision: 'allow', reason: 'renewed' });
  });

  it('frees a place when a download is returned (persistent release) or ended by an admin', async () => {
    const u = newUser();
    await download(u, 'd1');
    await download(u, 'd2');
    expect(await download(u, 'd1', { messageType: 'license-release' })).toMatchObject({
      decision: 'allow',
      reason: 'released',
    });
    expect(await download(u, 'd3')).toMatchObject({ reason: 'admitted' });
    expect(await download(u, 'd4')).toMatchObject({ reason: 'download_limit_exceeded' });
    expect(await ctx.store.endDownload(u, 'd2')).toEqual({ existed: true, plan: 'basic' });
    expect(await ctx.store.endDownload(u, 'd2')).toMatchObject({ existed: false });
    expect(await download(u, 'd4')).toMatchObject({ reason: 'admitted' });
  });

  it('no longer counts a download past its downloadDays', async () => {
    const u = newUser();
    await download(u, 'd1');
    await download(u, 'd2');
    // move d1's lapse time into the past, as if 7 days had gone by
    const [seconds] = await ctx.redis.time();
    await ctx.redis.zadd(userKeys(ctx.prefix, u).downloads, Number(seconds) * 1000 - 1000, 'd1');
    expect(await download(u, 'd3')).toMatchObject({ reason: 'admitted' });
    const listed = await ctx.store.userSessions(u);
    expect(listed.downloads.map((d) => d.sessionId).sort()).toEqual(['d2', 'd3']);
    expect(await ctx.redis.hexists(userKeys(ctx.prefix, u).downloadDetails, 'd1')).toBe(0);
  });

  it('lists downloads with their lapse time, and keeps both keys no longer than the last one needs', async () => {
    const u = newUser();
    // the look-up shows the user's own plan: here through an override
    await ctx.redis.hset(userKeys(ctx.prefix, u).override, 'plan', 'offline');
    await download(u, 'd1', { deviceId: 'tablet', contentId: 'movie-9', drm: 'playready' });
    const listed = await ctx.store.userSessions(u);
    expect(listed.maxDownloads).toBe(2);
    expect(listed.downloads).toEqual([
      expect.objectContaining({
        sessionId: 'd1',
        deviceId: 'tablet',
        contentId: 'movie-9',
        drm: 'playready',
      }),
    ]);
    const [seconds] = await ctx.redis.time();
    const lapse = listed.downloads[0].expiresAt;
    expect(Math.abs(lapse - (Number(seconds) * 1000 + 7 * 86400_000))).toBeLessThan(5000);
    const keys = userKeys(ctx.prefix, u);
    for (const key of [keys.downloads, keys.downloadDetails]) {
      expect(key).toContain(`{${u}}`);
      const ttl = await ctx.redis.pttl(key);
      expect(ttl).toBeGreaterThan(7 * 86400_000 - 5000);
      expect(ttl).toBeLessThanOrEqual(7 * 86400_000);
    }
  });

  it('stores nothing for a persistent licence on a plan that does not count downloads', async () => {
    const u = newUser();
    const answer = await download(u, 'd1', { plan: 'basic' });
    expect(answer).toMatchObject({
      decision: 'allow',
      reason: 'admitted',
      license: { canPersist: true, licenseDurationSeconds: 30 * 86400 },
    });
    expect(await ctx.redis.exists(userKeys(ctx.prefix, u).downloads)).toBe(0);
    expect((await ctx.store.userSessions(u)).maxDownloads).toBeNull();
  });

  it('lets an override set maxDownloads', async () => {
    const u = newUser();
    await ctx.redis.hset(userKeys(ctx.prefix, u).override, 'maxDownloads', '1');
    await download(u, 'd1');
    expect(await download(u, 'd2')).toMatchObject({ reason: 'download_limit_exceeded' });
  });

  it('admits exactly maxDownloads of 50 parallel downloads', async () => {
    const u = newUser();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => download(u, `p${i}`)));
    expect(answers.filter((a) => a.reason === 'admitted')).toHaveLength(2);
    expect(await ctx.redis.zcard(userKeys(ctx.prefix, u).downloads)).toBe(2);
  });
});
