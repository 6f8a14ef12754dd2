import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { startRedis, TestRedis } from '../support/redis-server';
import { LICENSE_TOKEN, startApp, testConfig } from '../support/test-app';

const body = { userId: 'u', drm: 'widevine', messageType: 'license-renewal', sessionId: 's' };

describe.each(['open', 'closed'] as const)('store down with USHER_FAIL_MODE=%s', (failMode) => {
  let redis: TestRedis;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url, { failMode, storeTimeoutMs: 100 }));
    await redis.kill();
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  const heartbeat = () =>
    request(app.getHttpServer())
      .post('/v1/heartbeats')
      .set('authorization', `Bearer ${LICENSE_TOKEN}`)
      .send(body);

  it(failMode === 'open' ? 'allows with reason degraded' : 'answers 503', async () => {
    const res = await heartbeat();
    if (failMode === 'open') {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        decision: 'allow',
        reason: 'degraded',
        sessionId: 's',
        plan: 'basic',
      });
    } else {
      expect(res.status).toBe(503);
    }
    const metrics = await request(app.getHttpServer()).get('/metrics');
    expect(metrics.text).toMatch(
      new RegExp(`usher_degraded_decisions_total\\{fail_mode="${failMode}"\\} [1-9]`),
    );
    expect(metrics.text).toMatch(
      /usher_store_errors_total\{operation="heartbeat",kind="connection"\} [1-9]/,
    );
  });

  it(`readiness is ${failMode === 'open' ? '200' : '503'} and reports the store down`, async () => {
    const res = await request(app.getHttpServer()).get('/health/ready');
    expect(res.status).toBe(failMode === 'open' ? 200 : 503);
    expect(res.body).toMatchObject({ store: 'down', failMode });
  });

  it('recovers without a restart when Redis returns', async () => {
    await redis.restart();
    const deadline = Date.now() + 5000;
    let reason = '';
    while (Date.now() < deadline && reason !== 'admitted') {
      reason = (await heartbeat()).body.reason;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reason).toBe('admitted');
    expect((await request(app.getHttpServer()).get('/health/ready')).status).toBe(200);
  });
});
