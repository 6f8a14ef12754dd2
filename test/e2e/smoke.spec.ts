import request from 'supertest';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startRedis, TestRedis } from '../support/redis-server';
import { LICENSE_TOKEN, startApp, testConfig } from '../support/test-app';

describe('smoke', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });
  it('admits a first heartbeat', async () => {
    const res = await request(app.getHttpServer())
      .post('/v1/heartbeats')
      .set('authorization', `Bearer ${LICENSE_TOKEN}`)
      .send({ userId: 'u', drm: 'widevine', messageType: 'license-request', sessionId: 's' });
    expect(res.status).toBe(200);
    expect(res.body.reason).toBe('admitted');
  });
});
