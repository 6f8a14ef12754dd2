import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { planKeys } from '../../src/plans/plan-store';
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
  plan('basic', { maxStreams: 1 }),
  plan('standard', { maxStreams: 2, countBy: 'device' }),
);
const FILE_BASIC = {
  name: 'basic',
  maxStreams: 1,
  countBy: 'session',
  onLimit: 'reject-new',
  renewalIntervalSeconds: 60,
  graceSeconds: 30,
  source: 'file',
};
/** A plan change is in force on every instance within 2 s (docs/admin-api.md, "Propagation"). */
const PROPAGATION_MS = 2000;

describe('admin API: plans', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let n = 0;
  const user = () => `plan-user-${++n}`;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url, { plans: PLANS }));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  describe('CRUD and sources', () => {
    it('lists the file plans with source file and names the default plan', async () => {
      const res = await adminCall(app, 'get', '/v1/plans');
      expect(res.status).toBe(200);
      expect(res.body.defaultPlan).toBe('basic');
      expect(res.body.plans).toEqual([
        FILE_BASIC,
        { ...FILE_BASIC, name: 'standard', maxStreams: 2, countBy: 'device' },
      ]);
    });

    it('gets one plan, and 404 for an unknown one', async () => {
      expect((await adminCall(app, 'get', '/v1/plans/basic')).body).toEqual(FILE_BASIC);
      const missing = await adminCall(app, 'get', '/v1/plans/nope');
      expect(missing.status).toBe(404);
    });

    it('creates an API plan (201, defaults filled in), replaces it (200) and removes it', async () => {
      const created = await adminCall(app, 'put', '/v1/plans/gold', {
        maxStreams: 5,
        onLimit: 'evict-oldest',
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        name: 'gold',
        maxStreams: 5,
        countBy: 'session',
        onLimit: 'evict-oldest',
        renewalIntervalSeconds: 60,
        graceSeconds: 30,
        source: 'api',
      });
      const listed = await adminCall(app, 'get', '/v1/plans');
      expect(listed.body.plans.map((p: { name: string }) => p.name)).toEqual([
        'basic',
        'standard',
        'gold',
      ]);

      const replaced = await adminCall(app, 'put', '/v1/plans/gold', {
        name: 'gold',
        maxStreams: 6,
        countBy: 'device',
        graceSeconds: 10,
      });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ maxStreams: 6, countBy: 'device', graceSeconds: 10 });
      expect(replaced.body.onLimit).toBe('reject-new'); // a PUT replaces the whole plan

      const hb = await heartbeat(app, {
        userId: user(),
        sessionId: 's',
        deviceId: 'd',
        plan: 'gold',
      });
      expect(hb.body).toMatchObject({ decision: 'allow', plan: 'gold', maxStreams: 6 });
      expect(hb.body.expiresInSeconds).toBe(70);

      const removed = await adminCall(app, 'delete', '/v1/plans/gold');
      expect(removed.status).toBe(204);
      expect((await adminCall(app, 'get', '/v1/plans/gold')).status).toBe(404);
      expect((await adminCall(app, 'delete', '/v1/plans/gold')).status).toBe(404);
      const unknownNow = await heartbeat(app, { userId: user(), sessionId: 's', plan: 'gold' });
      expect(unknownNow.status).toBe(400);
    });

    it('changes a file plan (source api) and DELETE reverts it to the file version', async () => {
      const changed = await adminCall(app, 'put', '/v1/plans/standard', { maxStreams: 7 });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ name: 'standard', maxStreams: 7, source: 'api' });
      expect((await adminCall(app, 'get', '/v1/plans/standard')).body.source).toBe('api');

      expect((await adminCall(app, 'delete', '/v1/plans/standard')).status).toBe(204);
      const reverted = await adminCall(app, 'get', '/v1/plans/standard');
      expect(reverted.body).toEqual({
        ...FILE_BASIC,
        name: 'standard',
        maxStreams: 2,
        countBy: 'device',
      });
      // Nothing is left to revert: the file plan itself cannot be removed through the API.
      expect((await adminCall(app, 'delete', '/v1/plans/standard')).status).toBe(409);
    });

    it('refuses to remove the default plan (409), but reverts API changes to it', async () => {
      const refused = await adminCall(app, 'delete', '/v1/plans/basic');
      expect(refused.status).toBe(409);
      expect(refused.body.message).toMatch(/default plan/);

      await adminCall(app, 'put', '/v1/plans/basic', { maxStreams: 3 }).expect(200);
      const u = user();
      expect((await heartbeat(app, { userId: u, sessionId: 'a' })).body.maxStreams).toBe(3);
      await adminCall(app, 'delete', '/v1/plans/basic').expect(204);
      expect((await adminCall(app, 'get', '/v1/plans/basic')).body).toEqual(FILE_BASIC);
      expect((await heartbeat(app, { userId: u, sessionId: 'a' })).body.maxStreams).toBe(1);
      expect((await adminCall(app, 'delete', '/v1/plans/basic')).status).toBe(409);
    });

    it('stores API plans in Redis under the key prefix, without a TTL', async () => {
      await adminCall(app, 'put', '/v1/plans/silver', { maxStreams: 2 }).expect(201);
      const keys = await redis.client.keys('*plans*');
      expect(keys).toHaveLength(1);
      expect(await redis.client.pttl(keys[0])).toBe(-1);
      await adminCall(app, 'delete', '/v1/plans/silver').expect(204);
    });
  });

  describe('validation (400 naming every bad field)', () => {
    it.each([
      [
        'every field wrong at once',
        {
          maxStreams: 101,
          countBy: 'household',
          onLimit: 'kick',
          renewalIntervalSeconds: 0,
          graceSeconds: -1,
          colour: 'red',
        },
        [
          'colour: unknown field',
          'maxStreams: must be an integer from 0 to 100',
          'renewalIntervalSeconds: must be an integer from 1 to 86400',
          'graceSeconds: must be an integer from 0 to 86400',
          'countBy: must be one of session, device',
          'onLimit: must be one of reject-new, evict-oldest',
        ],
      ],
      [
        'a fractional maxStreams',
        { maxStreams: 1.5 },
        ['maxStreams: must be an integer from 0 to 100'],
      ],
      [
        'a string number',
        { graceSeconds: '30' },
        ['graceSeconds: must be an integer from 0 to 86400'],
      ],
      [
        'every download field wrong',
        { maxDownloads: 1001, downloadDays: 0, downloadPlaybackHours: 8761 },
        [
          'maxDownloads: must be an integer from 0 to 1000',
          'downloadDays: must be an integer from 1 to 3650',
          'downloadPlaybackHours: must be an integer from 1 to 8760',
        ],
      ],
      [
        'a negative maxDownloads',
        { maxDownloads: -1 },
        ['maxDownloads: must be an integer from 0 to 1000'],
      ],
      ['a read-only field', { maxStreams: 1, source: 'api' }, ['source: unknown field']],
      [
        'a name unlike the path',
        { name: 'other' },
        ['name: must equal the plan name in the path ("gold")'],
      ],
      ['an array body', [1], ['plan: must be an object']],
    ])('%s', async (_what, body, problems) => {
      const res = await adminCall(app, 'put', '/v1/plans/gold', body);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(problems);
      expect(res.body.message).toBe(problems.join('; '));
      expect((await adminCall(app, 'get', '/v1/plans/gold')).status).toBe(404);
    });

    it.each([
      [
        'every control field wrong at once',
        {
          enforcement: 'dry-run',
          evictionGraceSeconds: 86401,
          handoff: 'yes',
          maxStreamsPerContent: 0,
          maxDevices: 101,
          deviceWindowHours: 0,
        },
        [
          'evictionGraceSeconds: must be an integer from 0 to 86400',
          'maxStreamsPerContent: must be an integer from 1 to 100',
          'maxDevices: must be an integer from 1 to 100',
          'deviceWindowHours: must be an integer from 1 to 8760',
          'enforcement: must be one of enforce, shadow',
          'handoff: must be true or false',
        ],
      ],
      [
        'a negative evictionGraceSeconds',
        { evictionGraceSeconds: -1 },
        ['evictionGraceSeconds: must be an integer from 0 to 86400'],
      ],
      [
        'a fractional maxStreamsPerContent',
        { maxStreamsPerContent: 1.5 },
        ['maxStreamsPerContent: must be an integer from 1 to 100'],
      ],
      ['maxDevices 0', { maxDevices: 0 }, ['maxDevices: must be an integer from 1 to 100']],
      [
        'a deviceWindowHours over a year',
        { maxDevices: 3, deviceWindowHours: 8761 },
        ['deviceWindowHours: must be an integer from 1 to 8760'],
      ],
      ['handoff as a number', { handoff: 1 }, ['handoff: must be true or false']],
      ['enforcement null', { enforcement: null }, ['enforcement: must be one of enforce, shadow']],
    ])('control fields: %s', async (_what, body, problems) => {
      const res = await adminCall(app, 'put', '/v1/plans/gold', body);
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual(problems);
      expect((await adminCall(app, 'get', '/v1/plans/gold')).status).toBe(404);
    });

    it('accepts every control field, echoes them, and they take effect', async () => {
      const body = {
        maxStreams: 2,
        enforcement: 'shadow',
        evictionGraceSeconds: 120,
        handoff: true,
        maxStreamsPerContent: 1,
        maxDevices: 3,
        deviceWindowHours: 24,
      };
      const created = await adminCall(app, 'put', '/v1/plans/controls', body);
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        name: 'controls',
        countBy: 'session',
        onLimit: 'reject-new',
        renewalIntervalSeconds: 60,
        graceSeconds: 30,
        source: 'api',
        ...body,
      });
      const u = user();
      const one = { userId: u, deviceId: 'd1', contentId: 'final', plan: 'controls' };
      await heartbeat(app, { ...one, sessionId: 'a' });
      const second = await heartbeat(app, { ...one, sessionId: 'b' });
      expect(second.body).toMatchObject({
        decision: 'allow',
        shadow: { decision: 'deny', reason: 'content_limit_exceeded' },
      });
      expect((await heartbeat(app, { userId: u, sessionId: 'c', plan: 'controls' })).status).toBe(
        400,
      );
      expect((await adminCall(app, 'delete', '/v1/plans/controls')).status).toBe(204);
    });

    it('names a bad plan name together with the bad fields', async () => {
      const res = await adminCall(app, 'put', '/v1/plans/no%20spaces', { maxStreams: -1 });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([
        'name: plan name must be 1-64 characters of A-Z a-z 0-9 _ -',
        'maxStreams: must be an integer from 0 to 100',
      ]);
    });

    it('answers 415 for a body that is not JSON', async () => {
      const res = await adminCall(app, 'put', '/v1/plans/gold')
        .set('content-type', 'text/plain')
        .send('maxStreams=2');
      expect(res.status).toBe(415);
    });
  });

  describe('auth', () => {
    it.each([
      ['get', '/v1/plans'],
      ['get', '/v1/plans/basic'],
      ['put', '/v1/plans/basic'],
      ['delete', '/v1/plans/basic'],
    ] as const)(
      '%s %s: 403 for a license-server token, 401 without a token',
      async (method, path) => {
        const body = method === 'put' ? { maxStreams: 9 } : undefined;
        expect((await adminCall(app, method, path, body, LICENSE_TOKEN)).status).toBe(403);
        expect((await adminCall(app, method, path, body, null)).status).toBe(401);
        expect((await adminCall(app, method, path, body, 'not-a-token')).status).toBe(401);
        expect((await adminCall(app, 'get', '/v1/plans/basic')).body).toEqual(FILE_BASIC);
      },
    );
  });

  describe('audit log', () => {
    it('writes one line per change with before, after and the token fingerprint, never the token', async () => {
      // The app lives inside the capture so its start-up lines at level log stay out of the output.
      const lines = await auditLines(async () => {
        const audited = await startApp(testConfig(redis.url, { plans: PLANS, logLevel: 'log' }));
        try {
          await adminCall(audited, 'get', '/v1/plans').expect(200);
          await adminCall(audited, 'put', '/v1/plans/basic', { maxStreams: 4 }).expect(200);
          await adminCall(audited, 'put', '/v1/plans/basic', { maxStreams: 400 }).expect(400);
          await adminCall(audited, 'delete', '/v1/plans/basic').expect(204);
        } finally {
          await audited.close();
          // Let the connections' "closed" lines land inside the capture too.
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({
        level: 'log',
        context: 'Audit',
        message: {
          action: 'plan.put',
          target: { plan: 'basic' },
          before: FILE_BASIC,
          after: { ...FILE_BASIC, maxStreams: 4, source: 'api' },
          role: 'admin',
          tokenFingerprint: ADMIN_FINGERPRINT,
        },
      });
      expect(lines[1]).toMatchObject({
        message: {
          action: 'plan.delete',
          before: { maxStreams: 4, source: 'api' },
          after: FILE_BASIC,
        },
      });
      expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
    });
  });

  describe('hot path', () => {
    it('a heartbeat is still one Redis command with API plans and an override in force', async () => {
      await adminCall(app, 'put', '/v1/plans/gold', { maxStreams: 4 }).expect(201);
      const u = user();
      await adminCall(app, 'put', `/v1/users/${u}/override`, { plan: 'gold' }).expect(201);
      await heartbeat(app, { userId: u, sessionId: 'warm-up' }).expect(200); // scripts loaded
      const clients = await redis.client.client('LIST');
      const hot = /addr=(\S+) .*name=usher-hot/.exec(String(clients))?.[1];
      expect(hot).toBeDefined();

      const monitor = await redis.client.monitor();
      const seen: string[][] = [];
      let fenced = false;
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source === hot) seen.push(args);
        else if (args[0]?.toLowerCase() === 'echo' && args[1] === 'fence') fenced = true;
      });
      try {
        const res = await heartbeat(app, { userId: u, sessionId: 's' });
        expect(res.body).toMatchObject({ plan: 'gold', maxStreams: 4, reason: 'admitted' });
        // MONITOR reports commands in order: once the fence shows, the heartbeat's have too.
        await redis.client.echo('fence');
        expect(await eventually(async () => fenced, 2000, 10)).toBe(true);
      } finally {
        monitor.disconnect();
      }
      expect(seen.map((args) => args[0].toLowerCase())).toEqual(['evalsha']);
      await adminCall(app, 'delete', '/v1/plans/gold').expect(204);
    });
  });

  describe('OpenAPI', () => {
    type Operation = { responses: Record<string, unknown>; security?: unknown[] };
    it('documents every admin route with its success and error responses', async () => {
      const res = await request(app.getHttpServer()).get('/docs-json');
      const paths = res.body.paths as Record<string, Record<string, Operation>>;
      const routes: [string, string, string[]][] = [
        ['/v1/plans', 'get', ['200', '401', '403']],
        ['/v1/plans/{name}', 'get', ['200', '401', '403', '404']],
        ['/v1/plans/{name}', 'put', ['200', '201', '400', '401', '403']],
        ['/v1/plans/{name}', 'delete', ['204', '401', '403', '404', '409']],
        ['/v1/users/{userId}/override', 'get', ['200', '400', '401', '403', '404']],
        ['/v1/users/{userId}/override', 'put', ['200', '201', '400', '401', '403']],
        ['/v1/users/{userId}/override', 'delete', ['204', '400', '401', '403', '404']],
        ['/v1/users/{userId}/sessions', 'get', ['200', '400', '401', '403']],
        ['/v1/users/{userId}/sessions', 'delete', ['204', '400', '401', '403']],
        ['/v1/users/{userId}/sessions/{sessionId}', 'delete', ['204', '400', '401', '403']],
      ];
      for (const [path, method, statuses] of routes) {
        const operation = paths[path]?.[method];
        expect({ path, method, documented: Boolean(operation) }).toEqual({
          path,
          method,
          documented: true,
        });
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
        expect(operation.security).toEqual([{ bearer: [] }]);
      }
      const schemas = res.body.components.schemas;
      expect(schemas.PlanBodyDto.properties.maxStreams).toMatchObject({ example: 3, maximum: 100 });
      expect(schemas.OverrideBodyDto.properties.expiresAt.format).toBe('date-time');
      expect(Object.keys(schemas.UserSessionDto.properties)).toContain('expiresAt');
    });
  });

  describe('every instance (two apps on one Redis)', () => {
    let a: NestFastifyApplication;
    let b: NestFastifyApplication;
    const keyPrefix = 'shared-plans';

    beforeAll(async () => {
      a = await startApp(testConfig(redis.url, { plans: PLANS, keyPrefix }));
      b = await startApp(testConfig(redis.url, { plans: PLANS, keyPrefix }));
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    /** Whether app B's heartbeats say the default plan has this maxStreams. */
    const bSees = (maxStreams: number) => async () => {
      const res = await heartbeat(b, { userId: 'watcher', sessionId: 'w' });
      return res.body.maxStreams === maxStreams;
    };

    it('a PUT on one instance is in force on the other within 2 s', async () => {
      expect(await bSees(1)()).toBe(true);
      await adminCall(a, 'put', '/v1/plans/basic', { maxStreams: 3 }).expect(200);
      expect(await eventually(bSees(3), PROPAGATION_MS)).toBe(true);
      const fromB = await adminCall(b, 'get', '/v1/plans/basic');
      expect(fromB.body).toMatchObject({ maxStreams: 3, source: 'api' });

      await adminCall(b, 'delete', '/v1/plans/basic').expect(204);
      expect(
        await eventually(async () => {
          const res = await adminCall(a, 'get', '/v1/plans/basic');
          return res.body.source === 'file';
        }, PROPAGATION_MS),
      ).toBe(true);
      expect(await bSees(1)()).toBe(true);
    });

    it('an override may name a plan created elsewhere that this instance has not heard of yet', async () => {
      // Created without a change message, so only the override PUT's own re-read can find it.
      await redis.client
        .multi()
        .hset(`${keyPrefix}:plans`, 'fresh', JSON.stringify({ maxStreams: 9 }))
        .hincrby(`${keyPrefix}:plans`, '#version', 1)
        .exec();
      const res = await adminCall(b, 'put', '/v1/users/fresh-user/override', { plan: 'fresh' });
      expect(res.status).toBe(201);
      const hb = await heartbeat(b, { userId: 'fresh-user', sessionId: 's' });
      expect(hb.body).toMatchObject({ plan: 'fresh', maxStreams: 9 });
      await adminCall(a, 'delete', '/v1/plans/fresh').expect(204);
      await adminCall(a, 'delete', '/v1/users/fresh-user/override').expect(204);
    });

    it('converges through the version check when the change message is lost', async () => {
      // Written the way PlanStore writes, but without the pub/sub message.
      const key = `${keyPrefix}:plans`;
      await redis.client
        .multi()
        .hset(key, 'basic', JSON.stringify({ maxStreams: 5, countBy: 'session' }))
        .hincrby(key, '#version', 1)
        .exec();
      expect(await eventually(bSees(5), PROPAGATION_MS)).toBe(true);
      expect(
        await eventually(async () => {
          const res = await adminCall(a, 'get', '/v1/plans/basic');
          return res.body.maxStreams === 5;
        }, PROPAGATION_MS),
      ).toBe(true);
      await adminCall(a, 'delete', '/v1/plans/basic').expect(204);
      expect(await eventually(bSees(1), PROPAGATION_MS)).toBe(true);
    });

    it('is not fooled when a lost plan set is rebuilt up to the same counter', async () => {
      const key = `${keyPrefix}:plans`;
      await adminCall(a, 'put', '/v1/plans/basic', { maxStreams: 2 }).expect(200);
      expect(await eventually(bSees(2), PROPAGATION_MS)).toBe(true);
      const counter = await redis.client.hget(key, '#version');
      // The hash is lost and a new one reaches the same counter, announced to nobody.
      await redis.client.del(key);
      await redis.client.hset(key, {
        basic: JSON.stringify({ maxStreams: 4 }),
        '#epoch': 'rebuilt',
        '#version': counter as string,
      });
      expect(await eventually(bSees(4), PROPAGATION_MS)).toBe(true);
      await adminCall(a, 'delete', '/v1/plans/basic').expect(204);
      expect(await eventually(bSees(1), PROPAGATION_MS)).toBe(true);
    });

    it('keeps following changes after Redis restarts (re-subscribed, version re-read)', async () => {
      await redis.kill();
      await redis.restart(); // an empty store: nothing was persisted
      const put = () => adminCall(a, 'put', '/v1/plans/basic', { maxStreams: 6 });
      // A's own connections reconnect with backoff; the restart is not part of the 2 s contract.
      expect(await eventually(async () => (await put()).status === 200, 10_000, 100)).toBe(true);
      expect(await eventually(bSees(6), 5000)).toBe(true);
      await adminCall(a, 'delete', '/v1/plans/basic').expect(204);
      expect(await eventually(bSees(1), PROPAGATION_MS)).toBe(true);
    });

    it('subscribes again when its subscriber connection is dropped (usher re-subscribes, not ioredis)', async () => {
      const channel = planKeys(keyPrefix).changes;
      const subscribers = async () =>
        Number(((await redis.client.pubsub('NUMSUB', channel)) as [string, number])[1]);
      const bothSubscribed = async () => (await subscribers()) === 2;
      expect(await eventually(bothSubscribed, 5000, 50)).toBe(true);
      await redis.client.client('KILL', 'TYPE', 'pubsub');
      expect(await subscribers()).toBe(0);
      expect(await eventually(bothSubscribed, 5000, 50)).toBe(true);
      // And a change made now still reaches B within the bound.
      await adminCall(a, 'put', '/v1/plans/basic', { maxStreams: 7 }).expect(200);
      expect(await eventually(bSees(7), PROPAGATION_MS)).toBe(true);
      await adminCall(a, 'delete', '/v1/plans/basic').expect(204);
      expect(await eventually(bSees(1), PROPAGATION_MS)).toBe(true);
    });

    it('an instance started later serves the API plans from its first request', async () => {
      await adminCall(a, 'put', '/v1/plans/latecomer', { maxStreams: 8 }).expect(201);
      const c = await startApp(testConfig(redis.url, { plans: PLANS, keyPrefix }));
      try {
        const res = await adminCall(c, 'get', '/v1/plans/latecomer');
        expect(res.body).toMatchObject({ maxStreams: 8, source: 'api' });
      } finally {
        await c.close();
        await adminCall(a, 'delete', '/v1/plans/latecomer').expect(204);
      }
    });
  });
});
