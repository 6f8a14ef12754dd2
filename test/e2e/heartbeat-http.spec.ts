import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { HeartbeatRequestSchema, LicensePolicySchema } from '../../src/heartbeat/heartbeat.schema';
import { startRedis, TestRedis } from '../support/redis-server';
import {
  ADMIN_TOKEN,
  catalog,
  LICENSE_TOKEN,
  plan,
  startApp,
  testConfig,
} from '../support/test-app';

const PLANS = catalog(
  plan('basic', { maxStreams: 1 }),
  plan('family', { maxStreams: 4, countBy: 'device' }),
);

describe('POST /v1/heartbeats over HTTP', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let n = 0;
  const user = () => `user-${++n}`;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url, { plans: PLANS }));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  const post = (body: unknown, token = LICENSE_TOKEN) =>
    request(app.getHttpServer())
      .post('/v1/heartbeats')
      .set('authorization', `Bearer ${token}`)
      .send(body as object);
  const heartbeat = (fields: Record<string, unknown>) =>
    post({ drm: 'widevine', messageType: 'license-request', ...fields });

  describe('happy paths', () => {
    it('admits, renews, denies with conflicts and releases, with every response field', async () => {
      const u = user();
      const admitted = await heartbeat({
        userId: u,
        sessionId: 'a',
        deviceId: 'tv',
        contentId: 'm',
      });
      expect(admitted.status).toBe(200);
      expect(admitted.body).toEqual({
        decision: 'allow',
        reason: 'admitted',
        sessionId: 'a',
        plan: 'basic',
        countBy: 'session',
        activeStreams: 1,
        maxStreams: 1,
        renewAfterSeconds: 60,
        expiresInSeconds: 90,
        evicted: [],
        conflicts: [],
        license: {
          canRenew: true,
          canPersist: false,
          licenseDurationSeconds: 90,
          playbackDurationSeconds: 0,
          renewalDelaySeconds: 60,
          renewalRetryIntervalSeconds: 10,
          renewalRecoveryDurationSeconds: 30,
        },
      });
      const renewed = await heartbeat({
        userId: u,
        sessionId: 'a',
        messageType: 'license-renewal',
      });
      expect(renewed.body).toMatchObject({
        decision: 'allow',
        reason: 'renewed',
        activeStreams: 1,
      });

      const denied = await heartbeat({ userId: u, sessionId: 'b' });
      expect(denied.status).toBe(200);
      expect(denied.body).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
        expiresInSeconds: 0,
      });
      expect(denied.body).not.toHaveProperty('license');
      expect(denied.body.conflicts).toEqual([
        {
          sessionId: 'a',
          deviceId: 'tv',
          drm: 'widevine',
          contentId: 'm',
          startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
          lastSeenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        },
      ]);
      const released = await heartbeat({
        userId: u,
        sessionId: 'a',
        messageType: 'license-release',
      });
      expect(released.body).toMatchObject({
        decision: 'allow',
        reason: 'released',
        activeStreams: 0,
      });
    });

    it('customSessionId wins over the native sessionId', async () => {
      const res = await heartbeat({
        userId: user(),
        sessionId: 'native',
        customSessionId: 'custom',
      });
      expect(res.body.sessionId).toBe('custom');
    });

    it('honours a known plan field', async () => {
      const res = await heartbeat({
        userId: user(),
        plan: 'family',
        deviceId: 'tv',
        sessionId: 's',
      });
      expect(res.body).toMatchObject({ plan: 'family', countBy: 'device', maxStreams: 4 });
    });
  });

  describe('PlayReady (no native session id)', () => {
    const playready = (userId: string, contentId: string) =>
      heartbeat({ userId, drm: 'playready', deviceId: 'pc-1', contentId });

    it('repeated license-requests get one stable syn- id and count once', async () => {
      const u = user();
      const first = await playready(u, 'movie-1');
      const again = await playready(u, 'movie-1');
      expect(first.body.sessionId).toMatch(/^syn-[A-Za-z0-9_-]{22}$/);
      expect(again.body).toMatchObject({
        sessionId: first.body.sessionId,
        reason: 'renewed',
        activeStreams: 1,
      });
    });

    it('other content or another user gets another id', async () => {
      const u = user();
      const a = await playready(u, 'movie-1');
      const b = await playready(u, 'movie-2');
      const c = await playready(user(), 'movie-1');
      expect(new Set([a.body.sessionId, b.body.sessionId, c.body.sessionId]).size).toBe(3);
    });

    it('without deviceId is a 400', async () => {
      const res = await heartbeat({ userId: user(), drm: 'playready', contentId: 'movie-1' });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([expect.stringMatching(/^deviceId: required/)]);
    });
  });

  describe('auth', () => {
    const body = {
      userId: 'auth-user',
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: 's',
    };
    it('401 without a token', async () => {
      const res = await request(app.getHttpServer()).post('/v1/heartbeats').send(body);
      expect(res.status).toBe(401);
      // The same error shape as every Nest route (the heartbeat route is plain Fastify).
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Authorization: Bearer <token> is required',
      });
    });
    it('401 with an unknown token or another scheme', async () => {
      expect((await post(body, 'nope')).status).toBe(401);
      const basic = await request(app.getHttpServer())
        .post('/v1/heartbeats')
        .set('authorization', `Basic ${LICENSE_TOKEN}`)
        .send(body);
      expect(basic.status).toBe(401);
    });
    it('403 with an admin token', async () => {
      const res = await post(body, ADMIN_TOKEN);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: "this token's role (admin) cannot call this API",
      });
    });
  });

  describe('bad input: a clear 4xx that changes nothing', () => {
    const good = {
      userId: 'bad-input-user',
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: 's',
    };
    const matrix: [string, Record<string, unknown>, RegExp][] = [
      ['unknown field', { ...good, colour: 'red' }, /^colour: unknown field/],
      ['missing userId', { ...good, userId: undefined }, /^userId: required/],
      ['userId too long', { ...good, userId: 'u'.repeat(129) }, /^userId: must be 1-128/],
      ['userId bad characters', { ...good, userId: 'a/b' }, /^userId: may only contain/],
      ['bad drm', { ...good, drm: 'primetime' }, /^drm: must be one of/],
      ['missing drm', { ...good, drm: undefined }, /^drm: required/],
      ['bad messageType', { ...good, messageType: 'renew' }, /^messageType: must be one of/],
      ['sessionId not a string', { ...good, sessionId: 7 }, /^sessionId: must be a string/],
      ['contentId too long', { ...good, contentId: 'c'.repeat(257) }, /^contentId: must be 1-256/],
      ['deviceId empty', { ...good, deviceId: '' }, /^deviceId: must be 1-256/],
      ['unknown plan', { ...good, plan: 'platinum' }, /^plan: "platinum" is not a known plan/],
      ['no id source', { ...good, sessionId: undefined }, /^deviceId: required/],
      ['device plan without deviceId', { ...good, plan: 'family' }, /^deviceId: required because/],
      [
        'bad licenseType',
        { ...good, licenseType: 'rental' },
        /^licenseType: must be one of streaming, persistent/,
      ],
      ['plan not a string', { ...good, plan: 42 }, /^plan: must be a string/],
      ['userId an object', { ...good, userId: { $gt: '' } }, /^userId: must be a string/],
      ['drm an array', { ...good, drm: ['widevine'] }, /^drm: must be one of/],
      ['null messageType', { ...good, messageType: null }, /^messageType: must be one of/],
      ['huge userId', { ...good, userId: 'u'.repeat(15_000) }, /^userId: must be 1-128/],
      ['prototype-named field', { ...good, constructor: 1 }, /^constructor: unknown field/],
    ];

    it.each(matrix)('%s → 400 naming the field', async (_name, body, problem) => {
      const before = await redis.client.dbsize();
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
      expect(await redis.client.dbsize()).toBe(before);
    });

    it('names every invalid field of one request', async () => {
      const res = await post({ userId: '', drm: 'x', messageType: 'y', extra: true });
      expect(res.status).toBe(400);
      expect(res.body.problems).toHaveLength(5);
      expect(res.body.message).toContain('drm');
    });

    it('names every unknown field, however many', async () => {
      const extra = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x${i}`, i]));
      const before = await redis.client.dbsize();
      const res = await post({ ...good, ...extra });
      expect(res.status).toBe(400);
      expect(res.body.problems).toHaveLength(200);
      expect(res.body.problems[199]).toBe('x199: unknown field');
      expect(await redis.client.dbsize()).toBe(before);
    });

    it('a prototype key (__proto__, constructor.prototype) → 400, nothing polluted or stored', async () => {
      const before = await redis.client.dbsize();
      for (const raw of [
        `{"userId":"u","drm":"widevine","messageType":"license-request","sessionId":"s","__proto__":{"plan":"family"}}`,
        `{"userId":"u","drm":"widevine","messageType":"license-request","sessionId":"s","constructor":{"prototype":{"plan":"family"}}}`,
      ]) {
        const res = await request(app.getHttpServer())
          .post('/v1/heartbeats')
          .set('authorization', `Bearer ${LICENSE_TOKEN}`)
          .set('content-type', 'application/json')
          .send(raw);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ statusCode: 400, message: expect.any(String) });
      }
      expect(({} as Record<string, unknown>).plan).toBeUndefined();
      expect(await redis.client.dbsize()).toBe(before);
    });

    it('a body that is not a JSON object → 400', async () => {
      for (const body of ['[1,2]', '"text"', '{bad json']) {
        const res = await request(app.getHttpServer())
          .post('/v1/heartbeats')
          .set('authorization', `Bearer ${LICENSE_TOKEN}`)
          .set('content-type', 'application/json')
          .send(body);
        expect(res.status).toBe(400);
      }
    });

    it('413 over 16 KiB', async () => {
      const res = await post({ ...good, contentId: 'x'.repeat(17 * 1024) });
      expect(res.status).toBe(413);
    });

    it('415 when the body is not JSON', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await request(app.getHttpServer())
          .post('/v1/heartbeats')
          .set('authorization', `Bearer ${LICENSE_TOKEN}`)
          .set('content-type', type)
          .send('userId=u');
        expect(res.status).toBe(415);
      }
    });

    it('no rejected request ran a store script', async () => {
      const evalsha = async () =>
        /cmdstat_evalsha:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? '0';
      const before = await evalsha();
      await post({ ...good, drm: 'nope' });
      await post({ ...good, contentId: 'x'.repeat(17 * 1024) });
      await post(good, 'wrong-token');
      expect(await evalsha()).toBe(before);
    });
  });

  describe('operations endpoints', () => {
    it('liveness and readiness without auth', async () => {
      expect((await request(app.getHttpServer()).get('/health/live')).body).toEqual({
        status: 'ok',
      });
      const ready = await request(app.getHttpServer()).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', store: 'up', failMode: 'open' });
    });

    it('serves the OpenAPI document describing the heartbeat contract', async () => {
      const doc = await request(app.getHttpServer()).get('/docs-json');
      expect(doc.status).toBe(200);
      const op = doc.body.paths['/v1/heartbeats'].post;
      const [scheme] = Object.keys(op.security[0]);
      expect(doc.body.components.securitySchemes[scheme]).toMatchObject({ scheme: 'bearer' });
      expect(op.requestBody.content['application/json'].schema.$ref).toBe(
        '#/components/schemas/HeartbeatRequestDto',
      );
      expect(Object.keys(op.responses).sort()).toEqual([
        '200',
        '400',
        '401',
        '403',
        '413',
        '415',
        '503',
      ]);
      const schemas = doc.body.components.schemas;
      expect(Object.keys(schemas.HeartbeatRequestDto.properties).sort()).toEqual([
        'contentId',
        'customSessionId',
        'deviceId',
        'drm',
        'licenseType',
        'messageType',
        'plan',
        'sessionId',
        'takeoverSessionId',
        'userId',
      ]);
      expect(schemas.HeartbeatResponseDto.required).toEqual(
        expect.arrayContaining([
          'decision',
          'reason',
          'activeStreams',
          'renewAfterSeconds',
          'expiresInSeconds',
        ]),
      );
      // The very schemas the route validates and serializes with (heartbeat.schema.ts).
      const plain = (schema: object) => JSON.parse(JSON.stringify(schema));
      expect(schemas.HeartbeatRequestDto).toEqual(plain(HeartbeatRequestSchema));
      expect(schemas.LicensePolicyDto).toEqual(plain(LicensePolicySchema));
      expect(schemas.HeartbeatResponseDto.properties.license).toEqual({
        description: expect.stringMatching(/licence/),
        allOf: [{ $ref: '#/components/schemas/LicensePolicyDto' }],
      });
      expect(schemas.HeartbeatResponseDto.properties.conflicts.items).toEqual({
        $ref: '#/components/schemas/SessionViewDto',
      });
      expect((await request(app.getHttpServer()).get('/docs')).status).toBe(200);
    });

    it('exposes Prometheus metrics', async () => {
      const res = await request(app.getHttpServer()).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('usher_heartbeats_total{decision="allow",reason="admitted"');
      expect(res.text).toContain('usher_plan_max_streams{plan="family"} 4');
      expect(res.text).toContain('nodejs_eventloop_lag_seconds');
    });
  });
});

describe('without any configured token (development)', () => {
  it('runs open', async () => {
    const redis = await startRedis();
    const app = await startApp(testConfig(redis.url, { licenseServerTokens: [], adminTokens: [] }));
    try {
      const res = await request(app.getHttpServer())
        .post('/v1/heartbeats')
        .send({ userId: 'u', drm: 'clearkey', messageType: 'license-request', sessionId: 's' });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});
