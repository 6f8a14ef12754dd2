import { randomBytes, randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PlanRegistry } from '../../src/plans/plan-registry';
import { WriteCoalescer } from '../../src/redis/write-coalescer';
import { NO_OVERRIDE_MARKER, userKeys } from '../../src/redis/user-keys';
import { SessionStore, StoreConnections } from '../../src/sessions/session-store';
import { sessionStoreOptions } from '../../src/sessions/sessions.module';
import { startRedis, TestRedis } from '../support/redis-server';
import { catalog, plan, startApp, testConfig } from '../support/test-app';

/**
 * ≤ 350 bytes of Redis memory per live session (docs/performance.md), with Redis' DEFAULT settings. The
 * sessions are written into a private redis-server of their own (started with no tuning), so
 * nothing else the app keeps in Redis (plans, active-slot estimates, queues) is counted.
 * Realistic id lengths: 36-char user and device ids (UUIDs), 32-char session ids, 12-char
 * content ids, two sessions per user.
 */
const USERS = 2000;
const SESSIONS_PER_USER = 2;
const BUDGET_BYTES = 350;

/** Redis' used_memory without client buffers (a burst of scripts leaves query buffers behind). */
async function datasetMemory(redis: TestRedis): Promise<number> {
  const info = await redis.client.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
  return field('used_memory') - field('mem_clients_normal');
}

describe('session storage with Redis defaults', () => {
  let appRedis: TestRedis;
  let sessionRedis: TestRedis;
  let app: NestFastifyApplication;
  let store: SessionStore;
  let prefix: string;

  beforeAll(async () => {
    appRedis = await startRedis();
    sessionRedis = await startRedis();
    // A bulk load, not a latency test: a busy machine must not turn it into timeouts.
    const config = testConfig(appRedis.url, {
      plans: catalog(plan('basic', { maxStreams: 2 })),
      storeTimeoutMs: 10_000,
    });
    prefix = config.keyPrefix;
    app = await startApp(config);
    // The app's own SessionStore class, on the private server that holds nothing but sessions.
    const connections: StoreConnections = {
      hot: sessionRedis.client,
      hotWrites: new WriteCoalescer(sessionRedis.client),
      control: sessionRedis.client,
    };
    store = new SessionStore(
      connections,
      sessionStoreOptions(config),
      app.get(PlanRegistry),
      app.get(MetricsService),
    );
  });
  afterAll(async () => {
    await app?.close();
    await sessionRedis?.stop();
    await appRedis?.stop();
  });

  const admit = (userId: string, sessionId: string) =>
    store.heartbeat({
      userId,
      sessionId,
      deviceId: randomUUID(),
      contentId: randomBytes(6).toString('hex'),
      drm: 'widevine',
      release: false,
    });

  it('runs on an untuned Redis', async () => {
    const [, value] = (await sessionRedis.client.config('GET', 'hash-max-listpack-value')) as [
      string,
      string,
    ];
    expect(value).toBe('64');
  });

  it("stores a user's sessions as a sorted set and a details hash, compact and with a TTL", async () => {
    const u = randomUUID();
    await admit(u, randomBytes(16).toString('hex'));
    await admit(u, randomBytes(16).toString('hex'));
    const keys = userKeys(prefix, u);
    const c = sessionRedis.client;
    // two sessions and the no-override marker
    expect(await c.zcard(keys.entries)).toBe(2 + 1);
    expect(await c.zscore(keys.entries, NO_OVERRIDE_MARKER)).not.toBeNull();
    expect(await c.hlen(keys.details)).toBe(2);
    // Redis' compact encodings hold with these id lengths and Redis defaults
    expect(await c.object('ENCODING', keys.entries)).toBe('listpack');
    expect(await c.object('ENCODING', keys.details)).toBe('listpack');
    // both expire with the lease the marker names (no override): 11 ttls of 90 s
    for (const key of [keys.entries, keys.details]) {
      const ttl = await c.pttl(key);
      expect(ttl).toBeGreaterThan(11 * 90_000 - 10_000);
      expect(ttl).toBeLessThanOrEqual(11 * 90_000);
    }
  });

  it(`keeps ${USERS} users x ${SESSIONS_PER_USER} sessions under ${BUDGET_BYTES} B per session`, async () => {
    // Warm up first: the script cache and the client buffers are not per-session memory.
    const warm = randomUUID();
    await admit(warm, 'warm-up');
    await store.heartbeat({ userId: warm, sessionId: 'warm-up', drm: 'widevine', release: true });
    await sessionRedis.client.flushall();
    const before = await datasetMemory(sessionRedis);

    const users = Array.from({ length: USERS }, () => randomUUID());
    const BATCH = 200;
    for (let i = 0; i < users.length; i += BATCH) {
      const answers = await Promise.all(
        users
          .slice(i, i + BATCH)
          .flatMap((u) =>
            Array.from({ length: SESSIONS_PER_USER }, () =>
              admit(u, randomBytes(16).toString('hex')),
            ),
          ),
      );
      expect(answers.every((d) => d.reason === 'admitted')).toBe(true);
    }
    expect(await sessionRedis.client.dbsize()).toBe(USERS * 2);

    const after = await datasetMemory(sessionRedis);
    const perSession = (after - before) / (USERS * SESSIONS_PER_USER);
    // Reported so the figure can be quoted; the assertion is the budget.
    process.stdout.write(`session storage: ${perSession.toFixed(1)} B per live session\n`);
    expect(perSession).toBeLessThan(BUDGET_BYTES);
  });
});
