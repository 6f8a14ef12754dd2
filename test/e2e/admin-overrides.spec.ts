import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startRedis, TestRedis } from '../support/redis-server';
import {
  ADMIN_TOKEN,
  catalog,
  LICENSE_TOKEN,
  plan,
  startApp,
  testConfig,
} from '../support/test-app';
import { ADMIN_FINGERPRINT, adminCall, auditLines, eventually, heartbeat } from './admin-support';

const PLANS = catalog(
  plan('basic', { maxStreams: 2 }),
  plan('premium', { maxStreams: 4, countBy: 'device', onLimit: 'evict-oldest' }),
);

describe('admin API: per-user overrides', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let keyPrefix: string;
  let n = 0;
  const user = () => `override-user-${++n}`;
  const overridePath = (userId: string) => `/v1/users/${userId}/override`;
  const overrideKey = (userId: string) => `${keyPrefix}:{${userId}}:o`;

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url, { plans: PLANS });
    keyPrefix = config.keyPrefix;
    app = await startApp(config);
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  /** Starts sessions s1..sN in order and returns each decision's reason. */
  const start = async (userId: string, count: number, from = 1): Promise<string[]> => {
    const reasons: string[] = [];
    for (let i = from; i < from + count; i++) {
      const res = await heartbeat(app, { userId, sessionId: `s${i}`, deviceId: `d${i}` });
      reasons.push(res.body.reason);
    }
    return reasons;
  };

  describe('effect on heartbeats', () => {
    it('raises the limit', async () => {
      const u = user();
      expect(await start(u, 3)).toEqual(['admitted', 'admitted', 'limit_exceeded']);
      const put = await adminCall(app, 'put', overridePath(u), { maxStreams: 3 });
      expect(put.status).toBe(201);
      expect(put.body).toEqual({ userId: u, maxStreams: 3 });
      const third = await heartbeat(app, { userId: u, sessionId: 's3', deviceId: 'd3' });
      expect(third.body).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        plan: 'basic',
        maxStreams: 3,
        activeStreams: 3,
      });
      expect(await start(u, 1, 4)).toEqual(['limit_exceeded']);
    });

    it('lowers the limit: new sessions are refused and only the oldest renews', async () => {
      const u = user();
      expect(await start(u, 2)).toEqual(['admitted', 'admitted']);
      await adminCall(app, 'put', overridePath(u), { maxStreams: 1 }).expect(201);
      expect(await start(u, 1, 3)).toEqual(['limit_exceeded']);
      const newer = await heartbeat(app, {
        userId: u,
        sessionId: 's2',
        messageType: 'license-renewal',
      });
      expect(newer.body).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
        maxStreams: 1,
      });
      const oldest = await heartbeat(app, {
        userId: u,
        sessionId: 's1',
        messageType: 'license-renewal',
      });
      expect(oldest.body).toMatchObject({ decision: 'allow', reason: 'renewed', activeStreams: 1 });
    });

    it("applies the override's plan, then its fields on top; the request's plan wins over both", async () => {
      const u = user();
      await adminCall(app, 'put', overridePath(u), {
        plan: 'premium',
        onLimit: 'reject-new',
      }).expect(201);
      const got = await adminCall(app, 'get', overridePath(u));
      expect(got.body).toEqual({ userId: u, plan: 'premium', onLimit: 'reject-new' });
      const viaOverride = await heartbeat(app, { userId: u, sessionId: 'a', deviceId: 'tv' });
      expect(viaOverride.body).toMatchObject({ plan: 'premium', countBy: 'device', maxStreams: 4 });

      await adminCall(app, 'put', overridePath(u), { plan: 'premium', maxStreams: 1 }).expect(200);
      const requested = await heartbeat(app, { userId: user(), sessionId: 'b', plan: 'basic' });
      expect(requested.body).toMatchObject({ plan: 'basic', maxStreams: 2 });
      const requestedForU = await heartbeat(app, {
        userId: u,
        sessionId: 'a',
        deviceId: 'tv',
        plan: 'basic',
      });
      // The request names basic; the override's maxStreams still applies on top of it.
      expect(requestedForU.body).toMatchObject({
        plan: 'basic',
        countBy: 'session',
        maxStreams: 1,
      });
    });

    it('DELETE restores the plan, and a second DELETE or GET is 404', async () => {
      const u = user();
      await adminCall(app, 'put', overridePath(u), { maxStreams: 5 }).expect(201);
      expect((await heartbeat(app, { userId: u, sessionId: 'a' })).body.maxStreams).toBe(5);
      expect((await adminCall(app, 'delete', overridePath(u))).status).toBe(204);
      expect((await heartbeat(app, { userId: u, sessionId: 'a' })).body.maxStreams).toBe(2);
      expect((await adminCall(app, 'get', overridePath(u))).status).toBe(404);
      expect((await adminCall(app, 'delete', overridePath(u))).status).toBe(404);
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it('stops applying at expiresAt, and Redis drops it', async () => {
      const u = user();
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const put = await adminCall(app, 'put', overridePath(u), { maxStreams: 7, expiresAt });
      expect(put.status).toBe(201);
      expect(put.body).toEqual({ userId: u, maxStreams: 7, expiresAt });
      expect((await adminCall(app, 'get', overridePath(u))).body.expiresAt).toBe(expiresAt);
      expect(await redis.client.pexpiretime(overrideKey(u))).toBe(Date.parse(expiresAt));
      expect((await heartbeat(app, { userId: u, sessionId: 'a' })).body.maxStreams).toBe(7);

      const lapsed = await eventually(async () => {
        const res = await heartbeat(app, { userId: u, sessionId: 'a' });
        return res.body.maxStreams === 2;
      }, 5000);
      expect(lapsed).toBe(true);
      expect((await adminCall(app, 'get', overridePath(u))).status).toBe(404);
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it('sets the control fields alone, in force until expiresAt', async () => {
      const u = user();
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const body = {
        enforcement: 'shadow',
        evictionGraceSeconds: 30,
        maxStreamsPerContent: 1,
        maxDevices: 1,
        expiresAt,
      };
      const put = await adminCall(app, 'put', overridePath(u), body);
      expect(put.status).toBe(201);
      expect(put.body).toEqual({ userId: u, ...body });
      expect((await adminCall(app, 'get', overridePath(u))).body).toEqual({ userId: u, ...body });
      const on = (sessionId: string, deviceId: string) =>
        heartbeat(app, { userId: u, sessionId, deviceId, contentId: 'final' });
      await on('a', 'd1');
      const shadowed = await on('b', 'd2');
      expect(shadowed.body).toMatchObject({
        decision: 'allow',
        shadow: { decision: 'deny', reason: 'device_limit_exceeded' },
      });
      // every heartbeat of a device-capped plan needs its deviceId
      expect((await heartbeat(app, { userId: u, sessionId: 'c' })).status).toBe(400);

      const lapsed = await eventually(async () => {
        const res = await heartbeat(app, { userId: u, sessionId: 'c' });
        return res.status === 200 && res.body.shadow === undefined;
      }, 5000);
      expect(lapsed).toBe(true);
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it('is configuration: no TTL without expiresAt, and a replacement drops an old expiry', async () => {
      const u = user();
      const later = new Date(Date.now() + 3_600_000).toISOString();
      await adminCall(app, 'put', overridePath(u), { countBy: 'device', expiresAt: later }).expect(
        201,
      );
      expect(await redis.client.pttl(overrideKey(u))).toBeGreaterThan(0);
      const replaced = await adminCall(app, 'put', overridePath(u), { maxStreams: 3 });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toEqual({ userId: u, maxStreams: 3 });
      expect(await redis.client.pttl(overrideKey(u))).toBe(-1);
      expect(await redis.client.hgetall(overrideKey(u))).toEqual({ maxStreams: '3' });
    });
  });

  describe('validation (400 naming every bad field)', () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    it.each([
      [
        'an empty body',
        {},
        ['body: at least one of plan, maxStreams, countBy, onLimit, maxDownloads is required'],
      ],
      [
        'expiresAt alone',
        { expiresAt: '2099-01-01T00:00:00Z' },
        ['body: at least one of plan, maxStreams, countBy, onLimit, maxDownloads is required'],
      ],
      [
        'every field wrong at once',
        {
          plan: 'platinum',
          maxStreams: 101,
          countBy: 'household',
          onLimit: 'kick',
          expiresAt: 'tomorrow',
          reason: 'vip',
        },
        [
          'reason: unknown field',
          'plan: "platinum" is not a known plan',
          'maxStreams: must be an integer from 0 to 100',
          'countBy: must be one of session, device',
          'onLimit: must be one of reject-new, evict-oldest',
          'expiresAt: must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T18:00:00Z',
        ],
      ],
      [
        'a negative maxStreams',
        { maxStreams: -1 },
        ['maxStreams: must be an integer from 0 to 100'],
      ],
      [
        'a string maxStreams',
        { maxStreams: '3' },
        ['maxStreams: must be an integer from 0 to 100'],
      ],
      ['a null plan', { plan: null }, ['plan: null is not a known plan']],
      [
        'an expiresAt in the past',
        { maxStreams: 3, expiresAt: past },
        ['expiresAt: must be in the future'],
      ],
      [
        'an expiresAt without a zone',
        { maxStreams: 3, expiresAt: '2099-01-01T00:00:00' },
        ['expiresAt: must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T18:00:00Z'],
      ],
      [
        'an epoch number for expiresAt',
        { maxStreams: 3, expiresAt: 4102444800000 },
        ['expiresAt: must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T18:00:00Z'],
      ],
      ['an array body', [{ maxStreams: 1 }], ['body: must be a JSON object']],
    ])('%s', async (_what, body, problems) => {
      const u = user();
      const res = await adminCall(app, 'put', overridePath(u), body);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(problems);
      expect(res.body.message).toBe(problems.join('; '));
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it.each([
      [
        'every control field wrong at once',
        {
          enforcement: 'off',
          evictionGraceSeconds: 86401,
          maxStreamsPerContent: 101,
          maxDevices: 0,
        },
        [
          'evictionGraceSeconds: must be an integer from 0 to 86400',
          'maxStreamsPerContent: must be an integer from 1 to 100',
          'maxDevices: must be an integer from 1 to 100',
          'enforcement: must be one of enforce, shadow',
        ],
      ],
      [
        'plan-only control fields',
        { handoff: true, deviceWindowHours: 24 },
        [
          'handoff: unknown field',
          'deviceWindowHours: unknown field',
          'body: at least one of plan, maxStreams, countBy, onLimit, maxDownloads is required',
        ],
      ],
      [
        'a string maxDevices',
        { maxDevices: '2' },
        ['maxDevices: must be an integer from 1 to 100'],
      ],
    ])('control fields: %s', async (_what, body, problems) => {
      const u = user();
      const res = await adminCall(app, 'put', overridePath(u), body);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(problems);
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it('accepts an expiresAt with an offset', async () => {
      const u = user();
      const res = await adminCall(app, 'put', overridePath(u), {
        onLimit: 'evict-oldest',
        expiresAt: '2099-06-01T12:00:00+02:00',
      });
      expect(res.status).toBe(201);
      expect(res.body.expiresAt).toBe('2099-06-01T10:00:00.000Z');
    });

    it.each([
      ['a userId over 128 characters', 'u'.repeat(129), 'userId: must be 1-128 characters'],
      ['a userId with a brace', 'a%7Bb', 'userId: may only contain A-Z a-z 0-9 . _ ~ : @ + = -'],
    ])('%s', async (_what, userId, problem) => {
      for (const [method, body] of [
        ['get', undefined],
        ['put', { maxStreams: 1 }],
        ['delete', undefined],
      ] as const) {
        const res = await adminCall(app, method, overridePath(userId), body);
        expect(res.status).toBe(400);
        expect(res.body.problems).toEqual([problem]);
      }
    });

    it('accepts the longest valid userId (128 characters of the whole alphabet)', async () => {
      const longest = `${'Az09._~:@+=-'.repeat(10)}${'x'.repeat(8)}`;
      expect(longest).toHaveLength(128);
      const path = overridePath(encodeURIComponent(longest));
      expect((await adminCall(app, 'put', path, { maxStreams: 3 })).status).toBe(201);
      expect((await adminCall(app, 'get', path)).body).toEqual({ userId: longest, maxStreams: 3 });
      expect((await heartbeat(app, { userId: longest, sessionId: 'a' })).body.maxStreams).toBe(3);
    });
  });

  describe('auth and audit', () => {
    it('403 for a license-server token, 401 without a token', async () => {
      const u = user();
      for (const [method, body] of [
        ['get', undefined],
        ['put', { maxStreams: 9 }],
        ['delete', undefined],
      ] as const) {
        expect((await adminCall(app, method, overridePath(u), body, LICENSE_TOKEN)).status).toBe(
          403,
        );
        expect((await adminCall(app, method, overridePath(u), body, null)).status).toBe(401);
      }
      expect(await redis.client.exists(overrideKey(u))).toBe(0);
    });

    it('writes one audit line per change, from what to what, by token fingerprint', async () => {
      const u = user();
      const lines = await auditLines(async () => {
        const audited = await startApp(testConfig(redis.url, { plans: PLANS, logLevel: 'log' }));
        try {
          await adminCall(audited, 'put', overridePath(u), { maxStreams: 3 }).expect(201);
          await adminCall(audited, 'put', overridePath(u), { plan: 'premium' }).expect(200);
          await adminCall(audited, 'get', overridePath(u)).expect(200);
          await adminCall(audited, 'delete', overridePath(u)).expect(204);
        } finally {
          await audited.close();
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      expect(lines.map((l) => l.message)).toEqual([
        {
          audit: true,
          action: 'override.put',
          target: { userId: u },
          before: null,
          after: { maxStreams: 3 },
          role: 'admin',
          tokenFingerprint: ADMIN_FINGERPRINT,
        },
        expect.objectContaining({
          action: 'override.put',
          before: { maxStreams: 3 },
          after: { plan: 'premium' },
        }),
        expect.objectContaining({
          action: 'override.delete',
          before: { plan: 'premium' },
          after: null,
        }),
      ]);
      expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
    });
  });
});
