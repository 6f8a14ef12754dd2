import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { playerToken } from '../support/player-token';
import { json, ProxyHarness, startProxyHarness } from '../support/proxy-app';
import { LICENSE_TOKEN } from '../support/test-app';

const FIXTURES = join(__dirname, '../fixtures/drm');
const EDGE_CHALLENGE = readFileSync(
  join(FIXTURES, 'pr_la_challenge_edge_win10_licensenonce_doc.xml'),
);
const ACQUIRE = '"http://schemas.microsoft.com/DRM/2007/03/protocols/AcquireLicense"';
const ORIGIN = 'https://player.example';
const SPC = Buffer.from('opaque FairPlay server playback context');

describe('POST /v1/licenses/{drm}: the HTTP contract', () => {
  let h: ProxyHarness;
  let n = 0;
  const user = () => `http-user-${++n}`;

  beforeAll(async () => {
    h = await startProxyHarness(
      { playready: '/pr', fairplay: '/fp' },
      { USHER_PROXY_CORS_ORIGINS: ORIGIN, USHER_PROXY_UPSTREAM_TIMEOUT_MS: '400' },
    );
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.upstream.received.length = 0;
    h.upstream.answer = {};
  });

  describe('player tokens', () => {
    it.each<[string, (u: string) => Promise<string | undefined>]>([
      ['missing', async () => undefined],
      ['expired', (u) => playerToken({ sub: u, deviceId: 'd' }, { expiresIn: '-1m' })],
      ['without exp', (u) => playerToken({ sub: u, deviceId: 'd' }, { noExp: true })],
      [
        'wrongly signed',
        (u) =>
          playerToken({ sub: u, deviceId: 'd' }, { secret: 'another-secret-of-32-bytes-or-more!' }),
      ],
    ])('401 (token: %s), with CORS headers; nothing stored or forwarded', async (_name, token) => {
      const u = user();
      const res = await h.post('fairplay', await token(u), SPC, { origin: ORIGIN });
      expect(res.status).toBe(401);
      expect(json(res)).toMatchObject({ statusCode: 401 });
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(h.upstream.received).toHaveLength(0);
      expect(await h.storedKeys(u)).toEqual([]);
    });
  });

  it('404 for a DRM without a licence server, and for an unknown DRM', async () => {
    const token = await playerToken({ sub: user(), deviceId: 'd' });
    expect((await h.post('clearkey', token, '{"kids":[]}')).status).toBe(404);
    expect((await h.post('nagra', token, 'x')).status).toBe(404);
    expect(h.upstream.received).toHaveLength(0);
  });

  describe('PlayReady', () => {
    it('the Edge AcquireLicense is decided (synthesized id) and forwarded with its SOAPAction', async () => {
      const token = await playerToken({ sub: user(), deviceId: 'edge-1', contentId: 'movie' });
      const headers = { 'content-type': 'text/xml; charset=utf-8', soapaction: ACQUIRE };
      const res = await h.post('playready', token, EDGE_CHALLENGE, headers);
      expect(res.status).toBe(200);
      expect(res.headers['x-usher-reason']).toBe('admitted');
      expect(res.headers['x-usher-session-id']).toMatch(/^syn-/);
      const [got] = h.upstream.received;
      expect(got.body.equals(EDGE_CHALLENGE)).toBe(true);
      expect(got.headers['content-type']).toBe('text/xml; charset=utf-8');
      expect(got.headers.soapaction).toBe(ACQUIRE);
      // A re-acquisition (new nonce, same device and content) is the same session.
      const again = await h.post('playready', token, EDGE_CHALLENGE, headers);
      expect(again.headers['x-usher-reason']).toBe('renewed');
    });

    it('an acknowledgement passes through undecided; a non-SOAP body is a 400', async () => {
      const u = user();
      const token = await playerToken({ sub: u, deviceId: 'edge-1' });
      const ack = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><AcknowledgeLicense xmlns="http://schemas.microsoft.com/DRM/2007/03/protocols"/></soap:Body></soap:Envelope>`;
      const passed = await h.post('playready', token, ack, { 'content-type': 'text/xml' });
      expect(passed.status).toBe(200);
      expect(passed.headers['x-usher-decision']).toBeUndefined();
      const bad = await h.post('playready', token, '{"not":"xml"}');
      expect(bad.status).toBe(400);
      expect(json(bad).message).toMatch(/not XML/);
      expect(h.upstream.received).toHaveLength(1);
      expect(await h.storedKeys(u)).toEqual([]);
    });
  });

  it('FairPlay: X-Usher-Message-Type makes an SPC a renewal or a release', async () => {
    const token = await playerToken({ sub: user(), sessionId: 'playback-1' });
    const first = await h.post('fairplay', token, SPC);
    const renewal = await h.post('fairplay', token, SPC, {
      'x-usher-message-type': 'license-renewal',
    });
    const release = await h.post('fairplay', token, SPC, {
      'x-usher-message-type': 'license-release',
    });
    expect([first, renewal, release].map((r) => r.headers['x-usher-reason'])).toEqual([
      'admitted',
      'renewed',
      'released',
    ]);
    expect(first.headers['x-usher-session-id']).toBe('playback-1');
  });

  it('the token wins over the X-Usher-* headers', async () => {
    const token = await playerToken({ sub: user(), sessionId: 'from-token' });
    const res = await h.post('fairplay', token, SPC, { 'x-usher-session-id': 'from-header' });
    expect(res.headers['x-usher-session-id']).toBe('from-token');
  });

  it('400 for a plan the token names that does not exist (nothing stored)', async () => {
    const u = user();
    const res = await h.post(
      'fairplay',
      await playerToken({ sub: u, plan: 'gold', deviceId: 'd' }),
      SPC,
    );
    expect(res.status).toBe(400);
    expect(json(res).message).toMatch(/plan: "gold" is not a known plan/);
    expect(await h.storedKeys(u)).toEqual([]);
  });

  describe('bodies', () => {
    it('accepts any Content-Type or none, up to 64 KiB; 413 beyond', async () => {
      const token = await playerToken({ sub: user(), deviceId: 'mac' });
      const big = Buffer.alloc(60 * 1024, 7);
      const ok = await h.post('fairplay', token, big, { 'content-type': 'text/plain' });
      expect(ok.status).toBe(200);
      expect(h.upstream.received[0].body.equals(big)).toBe(true);
      const tooBig = await h.post('fairplay', token, Buffer.alloc(64 * 1024 + 1, 7), {
        origin: ORIGIN,
      });
      expect(tooBig.status).toBe(413);
      expect(tooBig.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(h.upstream.received).toHaveLength(1);
    });

    it('the heartbeat route keeps its JSON-only rules (415 for text/plain)', async () => {
      const res = await request(h.app.getHttpServer())
        .post('/v1/heartbeats')
        .set('authorization', `Bearer ${LICENSE_TOKEN}`)
        .set('content-type', 'text/plain')
        .send('{}');
      expect(res.status).toBe(415);
    });
  });

  describe('CORS', () => {
    it('answers the preflight of an allowed origin', async () => {
      const res = await request(h.app.getHttpServer())
        .options('/v1/licenses/playready')
        .set('origin', ORIGIN)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, x-usher-device-id, content-type');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
      const allowed = res.headers['access-control-allow-headers'];
      for (const header of [
        'authorization',
        'content-type',
        'x-usher-session-id',
        'x-usher-device-id',
      ]) {
        expect(allowed).toContain(header);
      }
    });

    it('gives nothing to another origin', async () => {
      const res = await request(h.app.getHttpServer())
        .options('/v1/licenses/playready')
        .set('origin', 'https://evil.example')
        .set('access-control-request-method', 'POST');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
    });

    it('exposes the X-Usher-* headers on a 403', async () => {
      const u = user();
      await h.post('fairplay', await playerToken({ sub: u, deviceId: 'a' }), SPC);
      const res = await h.post('fairplay', await playerToken({ sub: u, deviceId: 'b' }), SPC, {
        origin: ORIGIN,
      });
      expect(res.status).toBe(403);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(res.headers['access-control-expose-headers']).toMatch(/x-usher-reason/);
      expect(res.headers['x-usher-reason']).toBe('limit_exceeded');
    });
  });

  it('504 when the licence server is too slow; the admission stands', async () => {
    const u = user();
    h.upstream.answer = { delayMs: 1500 };
    const res = await h.post('fairplay', await playerToken({ sub: u, deviceId: 'd' }), SPC, {
      origin: ORIGIN,
    });
    expect(res.status).toBe(504);
    expect(res.headers['x-usher-reason']).toBe('admitted');
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(await h.storedKeys(u)).not.toEqual([]);
  });

  it('counts unauthorized, bad_request and upstream_error', async () => {
    const metrics = (await request(h.app.getHttpServer()).get('/metrics')).text;
    for (const outcome of [
      'unauthorized',
      'bad_request',
      'upstream_error',
      'forwarded',
      'denied',
    ]) {
      expect(metrics).toMatch(
        new RegExp(`usher_proxy_requests_total\\{drm="fairplay",outcome="${outcome}"\\} [1-9]`),
      );
    }
  });

  it('the OpenAPI document describes the route', async () => {
    const doc = (await request(h.app.getHttpServer()).get('/docs-json')).body;
    const op = doc.paths['/v1/licenses/{drm}'].post;
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '413', '502', '503', '504']),
    );
    // A deny is the heartbeat answer: the same component as the heartbeat's 200.
    const denied = op.responses['403'].content['application/json'].schema.$ref;
    expect(denied).toBe('#/components/schemas/HeartbeatResponseDto');
    expect(doc.components.schemas.HeartbeatResponseDto.properties.decision.enum).toEqual([
      'allow',
      'deny',
    ]);
  });
});

describe('POST /v1/licenses/{drm} when the licence server is unreachable', () => {
  let h: ProxyHarness;
  beforeAll(async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    h = await startProxyHarness({ clearkey: 'http://127.0.0.1:1/clearkey' });
  });
  afterAll(() => h.stop());

  it('502, and the admission stands', async () => {
    const token = await playerToken({ sub: 'unreachable-user', deviceId: 'd' });
    const res = await h.post(
      'clearkey',
      token,
      '{"kids":["LwVHf8JLtPrv2GUXFW2v_A"],"type":"temporary"}',
    );
    expect(res.status).toBe(502);
    expect(json(res).message).toMatch(/could not be reached/);
    expect(res.headers['x-usher-decision']).toBe('allow');
    expect(await h.storedKeys('unreachable-user')).not.toEqual([]);
  });
});

describe.each(['open', 'closed'] as const)(
  'licence proxy with the store down, USHER_FAIL_MODE=%s',
  (failMode) => {
    let h: ProxyHarness;
    beforeAll(async () => {
      h = await startProxyHarness({ fairplay: '/fp' }, {}, { failMode, storeTimeoutMs: 100 });
      await h.redis.kill();
    });
    afterAll(() => h.stop());

    it(
      failMode === 'open' ? 'forwards with reason degraded' : 'answers 503 and forwards nothing',
      async () => {
        const res = await h.post('fairplay', await playerToken({ sub: 'u', deviceId: 'd' }), SPC);
        if (failMode === 'open') {
          expect(res.status).toBe(200);
          expect(res.headers['x-usher-reason']).toBe('degraded');
          expect(h.upstream.received).toHaveLength(1);
        } else {
          expect(res.status).toBe(503);
          expect(h.upstream.received).toHaveLength(0);
        }
      },
    );
  },
);
