import request from 'supertest';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { STORE_TARGETS } from '../support/store-targets';
import { catalog, LICENSE_TOKEN, plan, startApp, testConfig } from '../support/test-app';

const PLANS = catalog(
  plan('basic', { maxStreams: 1 }),
  plan('solo', { maxStreams: 2 }),
  plan('family', { maxStreams: 4, countBy: 'device' }),
);

function heartbeat(app: NestFastifyApplication, body: Record<string, string>) {
  return request(app.getHttpServer())
    .post('/v1/heartbeats')
    .set('authorization', `Bearer ${LICENSE_TOKEN}`)
    .send({ drm: 'widevine', messageType: 'license-request', ...body });
}

/** usher_active_slots{plan} as one instance's /metrics shows it. */
async function activeSlots(app: NestFastifyApplication): Promise<Record<string, number>> {
  const text = (await request(app.getHttpServer()).get('/metrics')).text;
  const slots: Record<string, number> = {};
  for (const [, name, value] of text.matchAll(/^usher_active_slots\{plan="([^"]+)"\} (\S+)$/gm)) {
    slots[name] = Number(value);
  }
  return slots;
}

describe.each(STORE_TARGETS)('usher_active_slots ($name)', (target) => {
  let store: Awaited<ReturnType<typeof target.start>>;
  let apps: NestFastifyApplication[];
  beforeAll(async () => {
    store = await target.start();
    const keyPrefix = `t${Math.random().toString(36).slice(2, 8)}`;
    const config = () =>
      testConfig(
        store.env,
        { plans: PLANS, keyPrefix },
        { USHER_ACTIVE_SLOTS_INTERVAL_MS: '1000' },
      );
    apps = [await startApp(config()), await startApp(config())];
  }, 60_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await store.stop();
  });

  it('is the same cluster-wide count of live slots per plan on every instance', async () => {
    const [a, b] = apps;
    const allowed = async (app: NestFastifyApplication, body: Record<string, string>) =>
      expect((await heartbeat(app, body)).body.decision).toBe('allow');
    // solo (countBy session): 3 users x 2 sessions, spread over both instances = 6 slots.
    for (const user of ['s1', 's2', 's3']) {
      await allowed(a, { userId: user, sessionId: 'x', plan: 'solo' });
      await allowed(b, { userId: user, sessionId: 'y', plan: 'solo' });
    }
    // A renewal on the other instance and a denied third session add nothing.
    await allowed(b, { userId: 's1', sessionId: 'x', plan: 'solo' });
    expect((await heartbeat(a, { userId: 's1', sessionId: 'z', plan: 'solo' })).body.reason).toBe(
      'limit_exceeded',
    );
    // family (countBy device): f1 has 3 devices, one of them with two sessions; f2 has 2 = 5.
    await allowed(a, { userId: 'f1', sessionId: 'a', deviceId: 'tv', plan: 'family' });
    await allowed(b, { userId: 'f1', sessionId: 'b', deviceId: 'tv', plan: 'family' });
    await allowed(a, { userId: 'f1', sessionId: 'c', deviceId: 'phone', plan: 'family' });
    await allowed(b, { userId: 'f1', sessionId: 'd', deviceId: 'tablet', plan: 'family' });
    await allowed(a, { userId: 'f2', sessionId: 'e', deviceId: 'tv', plan: 'family' });
    await allowed(b, { userId: 'f2', sessionId: 'f', deviceId: 'laptop', plan: 'family' });

    const expected = { basic: 0, solo: 6, family: 5 };
    const deadline = Date.now() + 20_000;
    let seen: Record<string, number>[] = [];
    while (Date.now() < deadline) {
      seen = await Promise.all(apps.map(activeSlots));
      if (seen.every((s) => JSON.stringify(s) === JSON.stringify(seen[0]))) {
        if (seen[0].solo === expected.solo && seen[0].family === expected.family) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen).toEqual([expected, expected]);
  });
});
