import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../src/config/app-config';
import { SessionEvent } from '../../src/events/session-event';
import { SessionEvents } from '../../src/events/session-events';
import { SessionStore } from '../../src/sessions/session-store';
import { startRedis, TestRedis } from '../support/redis-server';
import { STORE_TARGETS, StoreTarget } from '../support/store-targets';
import { catalog, LICENSE_TOKEN, plan, startApp, testConfig } from '../support/test-app';

const SECRET = 'webhook-test-secret';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  event: SessionEvent;
}

/** A real HTTP receiver on 127.0.0.1:0; `fail(path, n)` makes the next n POSTs there answer 500. */
class Receiver {
  readonly received: Received[] = [];
  private readonly failures = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        const failing = this.failures.get(path) ?? 0;
        if (failing > 0) {
          this.failures.set(path, failing - 1);
          res.writeHead(500).end('not now');
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ path, headers: req.headers, body, event: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  fail(path: string, times: number): void {
    this.failures.set(path, times);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** What a receiver does (docs/events.md): HMAC-SHA256 of "<t>.<raw body>", constant-time compare. */
function verifies(header: string | string[] | undefined, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!match) return false;
  const expected = createHmac('sha256', SECRET).update(`${match[1]}.${body}`).digest();
  const age = Math.abs(Date.now() / 1000 - Number(match[1]));
  return age < 300 && timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function eventsEnv(receiver: Receiver, paths: string[], extra: Record<string, string> = {}) {
  return {
    USHER_WEBHOOK_URLS: paths.map((p) => receiver.url + p).join(','),
    USHER_WEBHOOK_SECRET: SECRET,
    USHER_WEBHOOK_BACKOFF_MS: '50',
    USHER_WEBHOOK_ATTEMPTS: '5',
    ...extra,
  };
}

const PLANS = catalog(
  plan('basic', { maxStreams: 1 }),
  plan('family', { maxStreams: 1, onLimit: 'evict-oldest' }),
  plan('two', { maxStreams: 2 }),
);

function heartbeat(app: NestFastifyApplication, body: Record<string, string>) {
  return request(app.getHttpServer())
    .post('/v1/heartbeats')
    .set('authorization', `Bearer ${LICENSE_TOKEN}`)
    .send({ drm: 'widevine', messageType: 'license-request', ...body });
}

async function metric(app: NestFastifyApplication, series: string): Promise<number> {
  const text = (await request(app.getHttpServer()).get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('session events', () => {
  let redis: TestRedis;
  let receiver: Receiver;
  beforeAll(async () => {
    redis = await startRedis();
    receiver = new Receiver();
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
    await redis.stop();
  });

  describe("the queue's Redis down", () => {
    let queueRedis: TestRedis;
    let app: NestFastifyApplication;
    beforeAll(async () => {
      queueRedis = await startRedis();
      const config: AppConfig = testConfig(
        redis.url,
        { plans: PLANS },
        eventsEnv(receiver, ['/outage'], { USHER_QUEUE_REDIS_URL: queueRedis.url }),
      );
      app = await startApp(config);
    });
    afterAll(async () => {
      await app.close();
      await queueRedis.stop();
    });

    it('answers heartbeats as usual and counts the dropped events', async () => {
      await heartbeat(app, { userId: 'q1', sessionId: 'before' });
      await until('delivery through the queue Redis', () => receiver.at('/outage').length === 1);
      await queueRedis.kill();

      for (let i = 0; i < 20; i++) {
        const started = Date.now();
        const res = await heartbeat(app, { userId: `q${i + 2}`, sessionId: 's' });
        expect(Date.now() - started).toBeLessThan(500);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ decision: 'allow', reason: 'admitted' });
      }
      const denied = await heartbeat(app, { userId: 'q2', sessionId: 'other' });
      expect(denied.body).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });

      const dropped = 'usher_events_dropped_total{reason="queue_unavailable"}';
      await until('the drops counted', async () => (await metric(app, dropped)) >= 21);
      expect(await metric(app, dropped)).toBe(21);
      expect(await metric(app, 'usher_events_published_total{type="session.admitted"}')).toBe(1);

      // The outage ends: events flow again without a restart of usher. (This also lets the app
      // close cleanly: BullMQ cannot fail a blocking wait for jobs that was in flight when the
      // server died, and its watchdog would hold the process up to ~11 s.)
      await queueRedis.restart();
      await until(
        'delivery after the outage',
        async () => {
          await heartbeat(app, { userId: 'q-after', sessionId: `s${Date.now()}` });
          await sleep(200);
          return receiver.at('/outage').some((r) => r.event.userId === 'q-after');
        },
        20000,
      );
    });
  });

  describe('delivery', () => {
    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await startApp(
        testConfig(redis.url, { plans: PLANS }, eventsEnv(receiver, ['/a', '/b'])),
      );
    });
    afterAll(() => app.close());

    it('delivers every event type once to every URL, signed', async () => {
      const ok = async (body: Record<string, string>, reason: string) =>
        expect((await heartbeat(app, body)).body.reason).toBe(reason);
      await ok({ userId: 'u1', sessionId: 's1' }, 'admitted');
      await ok({ userId: 'u1', sessionId: 's2' }, 'limit_exceeded');
      await ok({ userId: 'u1', sessionId: 's1', messageType: 'license-release' }, 'released');
      await ok({ userId: 'u2', sessionId: 'old', deviceId: 'tv', plan: 'family' }, 'admitted');
      await ok({ userId: 'u2', sessionId: 'new', plan: 'family' }, 'admitted');
      // The limit of u4's slot is lowered (plan two → basic): the newer slot is ended.
      await ok({ userId: 'u4', sessionId: 'x1', plan: 'two' }, 'admitted');
      await ok({ userId: 'u4', sessionId: 'x2', plan: 'two' }, 'admitted');
      await ok({ userId: 'u4', sessionId: 'x2', plan: 'basic' }, 'limit_exceeded');
      await ok({ userId: 'u3', sessionId: 's9', contentId: 'film' }, 'admitted');
      // What the admin API does on DELETE /v1/users/u3/sessions/s9:
      const ended = await app.get(SessionStore).terminate('u3', 's9');
      app.get(SessionEvents).terminated('u3', ended, { activeStreams: 0, maxStreams: 1 });

      const expected = 12; // events per URL
      const delivered = () => receiver.at('/a').length + receiver.at('/b').length;
      await until('every event at both URLs', () => delivered() >= 2 * expected);
      await sleep(300); // and nothing arrives twice
      expect(delivered()).toBe(2 * expected);

      for (const path of ['/a', '/b']) {
        const got = receiver.at(path);
        expect(new Set(got.map((r) => r.event.id)).size).toBe(expected);
        for (const r of got) {
          expect(verifies(r.headers['x-usher-signature'], r.body)).toBe(true);
          expect(r.headers['content-type']).toBe('application/json');
          expect(r.headers['x-usher-event']).toBe(r.event.id);
          expect(r.headers['x-usher-event-type']).toBe(r.event.type);
          expect(r.headers['x-usher-delivery']).toMatch(new RegExp(`^${r.event.id}\\.`));
          expect(new Date(r.event.occurredAt).toISOString()).toBe(r.event.occurredAt);
        }
        const brief = got.map(({ event: e }) => `${e.type} ${e.userId}/${e.sessionId} ${e.reason}`);
        expect(brief.sort()).toEqual(
          [
            'session.admitted u1/s1 admitted',
            'session.denied u1/s2 limit_exceeded',
            'session.released u1/s1 released',
            'session.admitted u2/old admitted',
            'session.admitted u2/new admitted',
            'session.evicted u2/old evict_oldest',
            'session.admitted u4/x1 admitted',
            'session.admitted u4/x2 admitted',
            'session.denied u4/x2 limit_exceeded',
            'session.evicted u4/x2 limit_lowered',
            'session.admitted u3/s9 admitted',
            'session.terminated u3/s9 terminated',
          ].sort(),
        );
      }
      const byKey = (type: string, sessionId: string) =>
        receiver.at('/a').find((r) => r.event.type === type && r.event.sessionId === sessionId)
          ?.event;
      expect(byKey('session.evicted', 'old')).toMatchObject({
        userId: 'u2',
        deviceId: 'tv',
        drm: 'widevine',
        contentId: null,
        plan: 'family',
        activeStreams: 1,
        maxStreams: 1,
      });
      expect(byKey('session.denied', 's2')).toMatchObject({
        userId: 'u1',
        plan: 'basic',
        activeStreams: 1,
        maxStreams: 1,
      });
      expect(byKey('session.terminated', 's9')).toMatchObject({
        userId: 'u3',
        contentId: 'film',
        plan: 'basic',
        activeStreams: 0,
        maxStreams: 1,
      });
      expect(await metric(app, 'usher_webhook_deliveries_total{outcome="delivered"}')).toBe(
        2 * expected,
      );
    });
  });

  describe('retries', () => {
    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await startApp(
        testConfig(redis.url, { plans: PLANS }, eventsEnv(receiver, ['/flaky', '/steady'])),
      );
    });
    afterAll(() => app.close());

    it('delivers to a receiver that failed twice on the third try, and once to the others', async () => {
      receiver.fail('/flaky', 2);
      expect((await heartbeat(app, { userId: 'r1', sessionId: 's' })).body.reason).toBe('admitted');
      await until('the retried delivery', () => receiver.at('/flaky').length === 1);
      const [got] = receiver.at('/flaky');
      expect(got.event).toMatchObject({ type: 'session.admitted', userId: 'r1' });
      expect(got.headers['x-usher-attempt']).toBe('3');
      expect(verifies(got.headers['x-usher-signature'], got.body)).toBe(true);
      await sleep(300);
      expect(receiver.at('/flaky')).toHaveLength(1);
      expect(receiver.at('/steady')).toHaveLength(1);
      expect(receiver.at('/steady')[0].event.id).toBe(got.event.id);
      expect(await metric(app, 'usher_webhook_deliveries_total{outcome="retried"}')).toBe(2);
      expect(await metric(app, 'usher_webhook_deliveries_total{outcome="delivered"}')).toBe(2);
    });
  });

  describe('roles', () => {
    it('an api instance publishes, a worker instance (no heartbeat API) delivers', async () => {
      const keyPrefix = `t${Math.random().toString(36).slice(2, 8)}`;
      const env = eventsEnv(receiver, ['/roles']);
      const api = await startApp(
        testConfig(redis.url, { plans: PLANS, keyPrefix }, { ...env, USHER_ROLE: 'api' }),
      );
      let worker: NestFastifyApplication | undefined;
      try {
        expect((await heartbeat(api, { userId: 'w1', sessionId: 's' })).body.reason).toBe(
          'admitted',
        );
        await sleep(500);
        expect(receiver.at('/roles')).toHaveLength(0); // queued, nobody delivers yet
        worker = await startApp(
          testConfig(redis.url, { plans: PLANS, keyPrefix }, { ...env, USHER_ROLE: 'worker' }),
        );
        await until('delivery by the worker', () => receiver.at('/roles').length === 1);
        expect(receiver.at('/roles')[0].event).toMatchObject({ userId: 'w1' });
        expect((await heartbeat(worker, { userId: 'w2', sessionId: 's' })).status).toBe(404);
        expect((await request(worker.getHttpServer()).get('/health/live')).status).toBe(200);
        expect((await request(worker.getHttpServer()).get('/metrics')).status).toBe(200);
      } finally {
        await api.close();
        await worker?.close();
      }
    });
  });

  describe('on a Redis Cluster shared with the sessions (hash-tagged queue keys)', () => {
    const cluster = STORE_TARGETS.find((t) => t.name.includes('cluster'));
    let store: Awaited<ReturnType<StoreTarget['start']>>;
    let app: NestFastifyApplication;
    beforeAll(async () => {
      store = await (cluster as StoreTarget).start();
      app = await startApp(testConfig(store.env, { plans: PLANS }, eventsEnv(receiver, ['/c'])));
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await store?.stop();
    });

    it('delivers, retrying a failed attempt', async () => {
      receiver.fail('/c', 1);
      await heartbeat(app, { userId: 'c1', sessionId: 's1' });
      await heartbeat(app, { userId: 'c1', sessionId: 's2' });
      await until('both events', () => receiver.at('/c').length === 2);
      const got = receiver.at('/c');
      expect(got.map((r) => r.event.type).sort()).toEqual(['session.admitted', 'session.denied']);
      expect(got.every((r) => verifies(r.headers['x-usher-signature'], r.body))).toBe(true);
      expect(await metric(app, 'usher_webhook_deliveries_total{outcome="retried"}')).toBe(1);
    });
  });

  describe('bounded buffer', () => {
    it('drops and counts events beyond USHER_EVENT_BUFFER_SIZE', async () => {
      const app = await startApp(
        testConfig(
          redis.url,
          { plans: PLANS },
          eventsEnv(receiver, ['/bounded'], { USHER_EVENT_BUFFER_SIZE: '2' }),
        ),
      );
      try {
        const events = app.get(SessionEvents);
        const fields = {
          userId: 'b1',
          deviceId: null,
          drm: 'widevine',
          contentId: null,
          plan: 'basic',
          licenseType: 'streaming',
          activeStreams: 0,
          maxStreams: 1,
        } as const;
        for (const sessionId of ['1', '2', '3', '4', '5']) {
          events.publish({ ...fields, sessionId, type: 'session.released', reason: 'released' });
        }
        expect(await metric(app, 'usher_events_dropped_total{reason="buffer_full"}')).toBe(3);
        await until('the buffered two', () => receiver.at('/bounded').length === 2);
        expect(await metric(app, 'usher_events_published_total{type="session.released"}')).toBe(2);
      } finally {
        await app.close();
      }
    });
  });
});
