import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { FakeLicenceServer } from '../support/fake-licence-server';
import { PLAYER_JWT_SECRET, playerToken } from '../support/player-token';
import { startRedis, TestRedis } from '../support/redis-server';
import { catalog, plan, startApp, testConfig } from '../support/test-app';

const FIXTURES = join(__dirname, '../fixtures/drm');
const CLEARKEY_REQUEST = readFileSync(join(FIXTURES, 'clearkey_license_request_eme_example.json'));
const CLEARKEY_RELEASE = readFileSync(join(FIXTURES, 'clearkey_license_release_eme_example.json'));

describe('POST /v1/licenses/clearkey over HTTP (fake upstream on loopback)', () => {
  let redis: TestRedis;
  let upstream: FakeLicenceServer;
  let app: NestFastifyApplication;
  let n = 0;
  const user = () => `ck-user-${++n}`;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = new FakeLicenceServer();
    const url = await upstream.start();
    app = await startApp(
      testConfig(
        redis.url,
        { plans: catalog(plan('basic', { maxStreams: 1 })) },
        {
          USHER_PROXY_UPSTREAM_CLEARKEY: `${url}/clearkey`,
          USHER_PROXY_JWT_SECRET: PLAYER_JWT_SECRET,
        },
      ),
    );
  });
  afterAll(async () => {
    await app.close();
    await upstream.stop();
    await redis.stop();
  });
  beforeEach(() => {
    upstream.received.length = 0;
    upstream.answer = {};
  });

  const post = (token: string, body: Buffer | string, headers: Record<string, string> = {}) => {
    const req = request(app.getHttpServer())
      .post('/v1/licenses/clearkey')
      .set('authorization', `Bearer ${token}`)
      .set(headers)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    return req.send(body);
  };

  it('admits a ClearKey request posted without a Content-Type and returns the upstream bytes', async () => {
    const token = await playerToken({ sub: user(), deviceId: 'tv-1' });
    upstream.answer = { contentType: 'application/json', body: '{"keys":[],"type":"temporary"}' };
    // supertest sets no Content-Type for a Buffer body, as Shaka Player does.
    const res = await post(token, CLEARKEY_REQUEST);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect((res.body as Buffer).toString()).toBe('{"keys":[],"type":"temporary"}');
    expect(res.headers['x-usher-decision']).toBe('allow');
    expect(res.headers['x-usher-reason']).toBe('admitted');
    expect(res.headers['x-usher-session-id']).toMatch(/^syn-/);
    expect(upstream.received).toHaveLength(1);
    expect(upstream.received[0].path).toBe('/clearkey');
    expect(upstream.received[0].body.equals(CLEARKEY_REQUEST)).toBe(true);
    expect(upstream.received[0].headers.authorization).toBeUndefined();
  });

  it('denies a second device over the limit with 403 and conflicts; the upstream sees nothing', async () => {
    const u = user();
    const first = await post(await playerToken({ sub: u, deviceId: 'tv' }), CLEARKEY_REQUEST);
    expect(first.status).toBe(200);
    upstream.received.length = 0;
    const second = await post(await playerToken({ sub: u, deviceId: 'phone' }), CLEARKEY_REQUEST);
    expect(second.status).toBe(403);
    const answer = JSON.parse((second.body as Buffer).toString());
    expect(answer).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
    expect(answer.conflicts).toEqual([
      expect.objectContaining({ deviceId: 'tv', drm: 'clearkey' }),
    ]);
    expect(second.headers['x-usher-decision']).toBe('deny');
    expect(second.headers['x-usher-reason']).toBe('limit_exceeded');
    expect(upstream.received).toHaveLength(0);
  });

  it('a release frees the slot, then is forwarded; the other device is admitted after it', async () => {
    const u = user();
    const tv = await playerToken({ sub: u, deviceId: 'tv' });
    expect((await post(tv, CLEARKEY_REQUEST)).status).toBe(200);
    // A string body: superagent would serialize a Buffer sent as application/json.
    const released = await post(tv, CLEARKEY_RELEASE.toString(), {
      'content-type': 'application/json',
    });
    expect(released.status).toBe(200);
    expect(released.headers['x-usher-reason']).toBe('released');
    expect(upstream.received[1].body.equals(CLEARKEY_RELEASE)).toBe(true);
    expect(upstream.received[1].headers['content-type']).toBe('application/json');
    const phone = await post(await playerToken({ sub: u, deviceId: 'phone' }), CLEARKEY_REQUEST);
    expect(phone.status).toBe(200);
  });

  it('the playback id header names the session when the token has none', async () => {
    const token = await playerToken({ sub: user() });
    const res = await post(token, CLEARKEY_REQUEST, { 'x-usher-session-id': 'playback-7' });
    expect(res.status).toBe(200);
    expect(res.headers['x-usher-session-id']).toBe('playback-7');
  });

  it('400 without any device or playback id, nothing forwarded', async () => {
    const res = await post(await playerToken({ sub: user() }), CLEARKEY_REQUEST);
    expect(res.status).toBe(400);
    expect(JSON.parse((res.body as Buffer).toString()).message).toMatch(/deviceId/);
    expect(upstream.received).toHaveLength(0);
  });
});
