import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DecisionRecorder } from '../../src/stats/decision-recorder';
import { heartbeat } from '../e2e/admin-support';
import { STORE_TARGETS } from '../support/store-targets';
import { ADMIN_TOKEN, catalog, plan, startApp, testConfig } from '../support/test-app';

const PLANS = catalog(plan('basic', { maxStreams: 1 }), plan('duo', { maxStreams: 2 }));

interface PlanStats {
  plan: string;
  decisions: Record<string, number>;
}

describe.each(STORE_TARGETS)('GET /v1/stats across instances ($name)', (target) => {
  let store: Awaited<ReturnType<typeof target.start>>;
  let apps: NestFastifyApplication[];

  beforeAll(async () => {
    store = await target.start();
    const keyPrefix = `t${Math.random().toString(36).slice(2, 8)}`;
    const config = () => testConfig(store.env, { plans: PLANS, keyPrefix });
    apps = [await startApp(config()), await startApp(config())];
  }, 60_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await store.stop();
  });

  const stats = async (app: NestFastifyApplication) => {
    const res = await request(app.getHttpServer())
      .get('/v1/stats')
      .set('authorization', `Bearer ${ADMIN_TOKEN}`)
      .expect(200);
    return res.body.plans as PlanStats[];
  };

  it('every instance shows the decisions of all instances', async () => {
    const [a, b] = apps;
    for (const userId of ['u1', 'u2']) {
      await heartbeat(a, { userId, sessionId: 'x', plan: 'duo' }).expect(200);
      await heartbeat(b, { userId, sessionId: 'y', plan: 'duo' }).expect(200);
    }
    await heartbeat(b, { userId: 'u1', sessionId: 'z', plan: 'duo' }).expect(200);
    await heartbeat(a, {
      userId: 'u1',
      sessionId: 'x',
      plan: 'duo',
      messageType: 'license-renewal',
    });
    await Promise.all(apps.map((app) => app.get(DecisionRecorder).flush()));

    for (const app of apps) {
      const duo = (await stats(app)).find((p) => p.plan === 'duo');
      expect(duo?.decisions).toEqual({ admitted: 4, limit_exceeded: 1, renewed: 1 });
    }
  });
});
