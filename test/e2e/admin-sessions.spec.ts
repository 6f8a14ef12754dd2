import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { SessionEvents } from '../../src/events/session-events';
import { startRedis, TestRedis } from '../support/redis-server';
import {
  ADMIN_TOKEN,
  catalog,
  LICENSE_TOKEN,
  plan,
  startApp,
  testConfig,
} from '../support/test-app';
import { ADMIN_FINGERPRINT, adminCall, auditLines, heartbeat } from './admin-support';

const PLANS = catalog(plan('basic', { maxStreams: 2 }), plan('trio', { maxStreams: 3 }));
const ALPHABET = 'may only contain A-Z a-z 0-9 . _ ~ : @ + = -';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('admin API: user sessions', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let n = 0;
  const user = () => `session-user-${++n}`;
  const sessionsPath = (userId: string) => `/v1/users/${userId}/sessions`;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url, { plans: PLANS }));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  /** usher_evictions_total for one plan and cause, read from /metrics. */
  const evictions = async (planName: string, cause: string): Promise<number> => {
    const text = (await request(app.getHttpServer()).get('/metrics')).text;
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('usher_evictions_total{') &&
          l.includes(`plan="${planName}"`) &&
          l.includes(`cause="${cause}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };

  const renew = (userId: string, sessionId: string, fields: Record<string, string> = {}) =>
    heartbeat(app, { userId, sessionId, messageType: 'license-renewal', ...fields });

  describe('GET /v1/users/{userId}/sessions', () => {
    it('lists the live sessions with every field, oldest first, under the policy in force', async () => {
      const u = user();
      await adminCall(app, 'put', `/v1/users/${u}/override`, { plan: 'trio' }).expect(201);
      const wv = await heartbeat(app, {
        userId: u,
        sessionId: 'wv-1',
        deviceId: 'tv',
        contentId: 'movie',
      });
      const pr = await heartbeat(app, {
        userId: u,
        drm: 'playready',
        deviceId: 'xbox',
        contentId: 'show',
      });
      const fp = await heartbeat(app, { userId: u, drm: 'fairplay', sessionId: 'fp-1' });
      for (const res of [wv, pr, fp]) expect(res.body.reason).toBe('admitted');
      expect(pr.body.sessionId).toMatch(/^syn-/);

      const res = await adminCall(app, 'get', sessionsPath(u));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        userId: u,
        plan: 'trio',
        countBy: 'session',
        maxStreams: 3,
        activeStreams: 3,
      });
      const sessions = res.body.sessions as Record<string, string | null>[];
      expect(sessions.map((s) => [s.sessionId, s.deviceId, s.drm, s.contentId])).toEqual([
        ['wv-1', 'tv', 'widevine', 'movie'],
        [pr.body.sessionId, 'xbox', 'playready', 'show'],
        ['fp-1', null, 'fairplay', null],
      ]);
      for (const s of sessions) {
        expect(Object.keys(s).sort()).toEqual(
          [
            'contentId',
            'deviceId',
            'drm',
            'expiresAt',
            'lastSeenAt',
            'sessionId',
            'startedAt',
          ].sort(),
        );
        expect(s.startedAt).toMatch(ISO);
        expect(s.lastSeenAt).toMatch(ISO);
        // A session lapses renewalIntervalSeconds + graceSeconds (60 + 30) after it was last seen.
        expect(Date.parse(s.expiresAt as string) - Date.parse(s.lastSeenAt as string)).toBe(90_000);
      }
    });

    it('answers an unknown user with no sessions under the default plan', async () => {
      const res = await adminCall(app, 'get', sessionsPath(user()));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        plan: 'basic',
        countBy: 'session',
        maxStreams: 2,
        activeStreams: 0,
        sessions: [],
      });
    });
  });

  describe('downloads', () => {
    it('lists downloads apart from sessions, and DELETE ends one (204, also for an unknown one)', async () => {
      const u = user();
      await adminCall(app, 'put', `/v1/users/${u}/override`, { maxDownloads: 1 }).expect(201);
      const body = { userId: u, licenseType: 'persistent', deviceId: 'phone', contentId: 'film' };
      const first = await heartbeat(app, { ...body, sessionId: 'dl-1' });
      expect(first.body).toMatchObject({ reason: 'admitted', license: { canPersist: true } });
      expect((await heartbeat(app, { ...body, sessionId: 'dl-2' })).body.reason).toBe(
        'download_limit_exceeded',
      );
      const listed = await adminCall(app, 'get', sessionsPath(u)).expect(200);
      expect(listed.body).toMatchObject({ activeStreams: 0, sessions: [], maxDownloads: 1 });
      expect(listed.body.downloads).toEqual([
        expect.objectContaining({ sessionId: 'dl-1', deviceId: 'phone', contentId: 'film' }),
      ]);
      expect(listed.body.downloads[0].expiresAt).toMatch(ISO);

      await adminCall(app, 'delete', `/v1/users/${u}/downloads/dl-1`).expect(204);
      await adminCall(app, 'delete', `/v1/users/${u}/downloads/never-seen`).expect(204);
      expect((await adminCall(app, 'get', sessionsPath(u))).body.downloads).toEqual([]);
      expect((await heartbeat(app, { ...body, sessionId: 'dl-2' })).body.reason).toBe('admitted');
      await adminCall(app, 'delete', `/v1/users/${u}/downloads/bad%20id`).expect(400);
    });
  });

  describe('termination', () => {
    it('terminates one session: freed slot, session revoked, a new session takes the slot', async () => {
      const u = user();
      expect((await heartbeat(app, { userId: u, sessionId: 's1' })).body.reason).toBe('admitted');
      expect((await heartbeat(app, { userId: u, sessionId: 's2' })).body.reason).toBe('admitted');
      expect((await heartbeat(app, { userId: u, sessionId: 's3' })).body.reason).toBe(
        'limit_exceeded',
      );
      const before = await evictions('basic', 'terminated');

      expect((await adminCall(app, 'delete', `${sessionsPath(u)}/s1`)).status).toBe(204);
      const listed = await adminCall(app, 'get', sessionsPath(u));
      expect(listed.body.activeStreams).toBe(1);
      expect(listed.body.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(['s2']);
      expect(await evictions('basic', 'terminated')).toBe(before + 1);

      expect((await renew(u, 's1')).body).toMatchObject({
        decision: 'deny',
        reason: 'session_revoked',
      });
      expect((await heartbeat(app, { userId: u, sessionId: 's3' })).body).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 2,
      });
      expect((await renew(u, 's2')).body.reason).toBe('renewed');
      expect((await renew(u, 's1')).body.reason).toBe('session_revoked');
    });

    it('hands one session.terminated event per ended session to the publisher', async () => {
      const u = user();
      await heartbeat(app, { userId: u, sessionId: 's1' }).expect(200);
      await heartbeat(app, { userId: u, sessionId: 's2' }).expect(200);
      const terminated = jest.spyOn(app.get(SessionEvents), 'terminated');
      try {
        await adminCall(app, 'delete', sessionsPath(u)).expect(204);
        await adminCall(app, 'delete', `${sessionsPath(u)}/never-seen`).expect(204);
        expect(terminated).toHaveBeenCalledTimes(1);
        const [userId, ended] = terminated.mock.calls[0];
        expect(userId).toBe(u);
        expect(ended.plan).toBe('basic');
        expect(ended.sessions.map((s) => s.sessionId).sort()).toEqual(['s1', 's2']);
      } finally {
        terminated.mockRestore();
      }
    });

    it('answers 204 for an unknown session, and that id cannot start afterwards', async () => {
      const u = user();
      const before = await evictions('basic', 'terminated');
      expect((await adminCall(app, 'delete', `${sessionsPath(u)}/ghost`)).status).toBe(204);
      expect(await evictions('basic', 'terminated')).toBe(before);
      expect((await heartbeat(app, { userId: u, sessionId: 'ghost' })).body.reason).toBe(
        'session_revoked',
      );
      expect((await heartbeat(app, { userId: u, sessionId: 'other' })).body.reason).toBe(
        'admitted',
      );
    });

    it("terminates all of a user's sessions", async () => {
      const u = user();
      await heartbeat(app, { userId: u, sessionId: 's1' }).expect(200);
      await heartbeat(app, { userId: u, sessionId: 's2' }).expect(200);
      const before = await evictions('basic', 'terminated');

      expect((await adminCall(app, 'delete', sessionsPath(u))).status).toBe(204);
      expect((await adminCall(app, 'get', sessionsPath(u))).body).toMatchObject({
        activeStreams: 0,
        sessions: [],
      });
      expect(await evictions('basic', 'terminated')).toBe(before + 2);
      expect((await renew(u, 's1')).body.reason).toBe('session_revoked');
      expect((await renew(u, 's2')).body.reason).toBe('session_revoked');
      expect((await heartbeat(app, { userId: u, sessionId: 's3' })).body.reason).toBe('admitted');
      expect((await heartbeat(app, { userId: u, sessionId: 's4' })).body.reason).toBe('admitted');
      // Nothing live: still 204.
      expect((await adminCall(app, 'delete', sessionsPath(user()))).status).toBe(204);
    });

    it('writes one audit line per termination naming what was ended', async () => {
      const u = user();
      const lines = await auditLines(async () => {
        const audited = await startApp(testConfig(redis.url, { plans: PLANS, logLevel: 'log' }));
        try {
          await heartbeat(audited, { userId: u, sessionId: 's1', deviceId: 'tv' }).expect(200);
          await heartbeat(audited, { userId: u, sessionId: 's2' }).expect(200);
          await adminCall(audited, 'delete', `${sessionsPath(u)}/s1`).expect(204);
          await adminCall(audited, 'get', sessionsPath(u)).expect(200);
          await adminCall(audited, 'delete', sessionsPath(u)).expect(204);
        } finally {
          await audited.close();
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      expect(lines.map((l) => l.message)).toEqual([
        {
          audit: true,
          action: 'sessions.terminate',
          target: { userId: u, sessionId: 's1' },
          before: [expect.objectContaining({ sessionId: 's1', deviceId: 'tv', drm: 'widevine' })],
          after: { revoked: ['s1'] },
          role: 'admin',
          tokenFingerprint: ADMIN_FINGERPRINT,
        },
        expect.objectContaining({
          action: 'sessions.terminate',
          target: { userId: u },
          before: [expect.objectContaining({ sessionId: 's2' })],
          after: { revoked: ['s2'] },
        }),
      ]);
      expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
    });
  });

  describe('lowering a plan limit (rank rule: a live slot renews only while it ranks within maxStreams)', () => {
    it('with 3 live sessions and maxStreams 3 → 1: the oldest renews, the newer two are denied', async () => {
      const u = user();
      // Names sort like start times, so even equal start milliseconds rank the same way.
      for (const s of ['a-oldest', 'b-middle', 'c-newest']) {
        const res = await heartbeat(app, { userId: u, sessionId: s, plan: 'trio' });
        expect(res.body.reason).toBe('admitted');
      }
      const lowered = await evictions('trio', 'limit_lowered');
      await adminCall(app, 'put', '/v1/plans/trio', { maxStreams: 1 }).expect(200);
      try {
        expect((await renew(u, 'c-newest', { plan: 'trio' })).body).toMatchObject({
          decision: 'deny',
          reason: 'limit_exceeded',
          maxStreams: 1,
        });
        expect((await renew(u, 'b-middle', { plan: 'trio' })).body).toMatchObject({
          decision: 'deny',
          reason: 'limit_exceeded',
        });
        expect((await renew(u, 'a-oldest', { plan: 'trio' })).body).toMatchObject({
          decision: 'allow',
          reason: 'renewed',
          activeStreams: 1,
        });
        expect(await evictions('trio', 'limit_lowered')).toBe(lowered + 2);
        expect((await renew(u, 'b-middle', { plan: 'trio' })).body.reason).toBe('session_revoked');
      } finally {
        await adminCall(app, 'delete', '/v1/plans/trio').expect(204);
      }
    });
  });

  describe('auth and validation', () => {
    it.each([
      ['get', '/v1/users/u/sessions'],
      ['delete', '/v1/users/u/sessions'],
      ['delete', '/v1/users/u/sessions/s1'],
    ] as const)('%s %s: 403 for a license-server token, 401 without one', async (method, path) => {
      expect((await adminCall(app, method, path, undefined, LICENSE_TOKEN)).status).toBe(403);
      expect((await adminCall(app, method, path, undefined, null)).status).toBe(401);
    });

    it.each([
      [
        'a userId over 128 characters',
        'get',
        sessionsPathOf('x'.repeat(129)),
        ['userId: must be 1-128 characters'],
      ],
      ['a userId with a space', 'delete', sessionsPathOf('bad%20id'), [`userId: ${ALPHABET}`]],
      [
        'a sessionId over 256 characters',
        'delete',
        `${sessionsPathOf('u')}/${'s'.repeat(257)}`,
        ['sessionId: must be 1-256 characters'],
      ],
      [
        'both ids bad',
        'delete',
        `${sessionsPathOf('bad%2Fid')}/bad%20session`,
        [`userId: ${ALPHABET}`, `sessionId: ${ALPHABET}`],
      ],
    ] as const)('%s: 400 naming it', async (_what, method, path, problems) => {
      const res = await adminCall(app, method, path);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(problems);
    });

    it('accepts the longest valid sessionId (256 characters)', async () => {
      const u = user();
      const longest = 's'.repeat(256);
      await heartbeat(app, { userId: u, sessionId: longest }).expect(200);
      expect((await adminCall(app, 'delete', `${sessionsPath(u)}/${longest}`)).status).toBe(204);
      expect((await renew(u, longest)).body.reason).toBe('session_revoked');
    });
  });
  describe('store down', () => {
    it('answers 503 (retry) instead of 500, and plans are still listed from memory', async () => {
      await redis.kill();
      try {
        const u = user();
        for (const [method, path, body] of [
          ['get', sessionsPath(u), undefined],
          ['delete', `${sessionsPath(u)}/s1`, undefined],
          ['put', `/v1/users/${u}/override`, { maxStreams: 2 }],
          ['get', `/v1/users/${u}/override`, undefined],
          ['put', '/v1/plans/basic', { maxStreams: 2 }],
        ] as const) {
          const res = await adminCall(app, method, path, body);
          expect({ method, path, status: res.status }).toEqual({ method, path, status: 503 });
          expect(res.body.message).toMatch(/store/);
        }
        expect((await adminCall(app, 'get', '/v1/plans')).status).toBe(200);
      } finally {
        await redis.restart();
      }
    });
  });
});

function sessionsPathOf(userId: string): string {
  return `/v1/users/${userId}/sessions`;
}
