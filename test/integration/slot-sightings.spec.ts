import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SlotSightings } from '../../src/active-slots/slot-sightings';
import { HeartbeatInput, StoreDecision } from '../../src/sessions/session-store';
import { startRedis, TestRedis } from '../support/redis-server';
import { catalog, plan, startApp, testConfig } from '../support/test-app';

/**
 * The write side of usher_active_slots at volume: thousands of sightings per flush period, in
 * several periods (the lists are reused), repeats included, counted by the HyperLogLogs.
 */
describe('SlotSightings', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let sightings: SlotSightings;
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url, { plans: catalog(plan('solo', { maxStreams: 2 })) });
    prefix = config.keyPrefix;
    app = await startApp(config);
    sightings = app.get(SlotSightings);
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  const decision = (reason: StoreDecision['reason']) =>
    ({
      decision: reason === 'limit_exceeded' ? 'deny' : 'allow',
      reason,
      plan: 'solo',
      countBy: 'session',
      maxStreams: 2,
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
      activeStreams: 1,
      sessions: [],
    }) as StoreDecision;
  const input = (user: number): HeartbeatInput => ({
    userId: `user-${user}`,
    sessionId: 'session-a',
    drm: 'widevine',
    release: false,
  });

  /** PFCOUNT over every bucket of plan solo: what the periodic job would union. */
  async function counted(): Promise<number> {
    const keys = await redis.client.keys(`${prefix}:{active-slots}:solo:*`);
    return keys.length ? Number(await redis.client.pfcount(...keys)) : 0;
  }

  it('counts every distinct slot once, across flushes, repeats and denials ignored', async () => {
    for (let u = 0; u < 3000; u++) {
      sightings.sighted(input(u), decision('admitted'));
      sightings.sighted(input(u), decision('renewed'));
      sightings.sighted(input(u + 100_000), decision('limit_exceeded'));
      sightings.sighted(input(u + 200_000), decision('released'));
    }
    await sightings.flush();
    expect(Math.abs((await counted()) - 3000)).toBeLessThan(3000 * 0.03);
    // The next period reuses the emptied lists: old slots again plus 1,500 new ones.
    for (let u = 1500; u < 4500; u++) sightings.sighted(input(u), decision('renewed'));
    await sightings.flush();
    expect(Math.abs((await counted()) - 4500)).toBeLessThan(4500 * 0.03);
  });
});
