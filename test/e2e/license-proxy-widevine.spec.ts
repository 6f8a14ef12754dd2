import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import request from 'supertest';
import { LicenseRequest, SignedMessage } from '../../src/proxy/widevine-challenge';
import { playerToken } from '../support/player-token';
import { json, ProxyHarness, startProxyHarness } from '../support/proxy-app';
import { catalog, plan } from '../support/test-app';

const FIXTURES = join(__dirname, '../fixtures/drm');
const wvFixture = (name: string) =>
  Buffer.from(readFileSync(join(FIXTURES, name), 'utf8').trim(), 'base64');
const CHROME_2019 = wvFixture('wv_new_chrome_privacy_2019.b64');
const CHROME_2017 = wvFixture('wv_new_chrome_privacy_2017.b64');
const SERVICE_CERTIFICATE_REQUEST = Buffer.from([0x08, 0x04]);
const UPSTREAM_SECRET = 'vendor-shared-secret';

/** A RENEWAL or RELEASE of the licence whose NEW request carried `requestId`. */
function existing(type: 2 | 3, requestId: Buffer): Buffer {
  const msg = LicenseRequest.encode(
    LicenseRequest.fromObject({
      type,
      content_id: { existing_license: { license_id: { request_id: requestId, session_id: [1] } } },
    }),
  ).finish();
  return Buffer.from(SignedMessage.encode(SignedMessage.fromObject({ type: 1, msg })).finish());
}
const REQUEST_ID_2019 = Buffer.from('bb755aca4a386617cfda57c25900fe0e', 'hex');

describe('POST /v1/licenses/widevine with real Chrome challenges', () => {
  let h: ProxyHarness;
  let n = 0;
  const user = () => `wv-user-${++n}`;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'usher-wv-'));
    const template = join(dir, 'template.json');
    writeFileSync(
      template,
      JSON.stringify({
        version: 1,
        com_key_id: 'usher',
        message: {
          type: 'entitlement_message',
          user: '{{userId}}',
          session: '{{sessionId}}',
          device: '{{deviceId}}',
          content: '{{contentId}}',
          drm: '{{drm}}',
          plan: '{{plan}}',
          license: {
            allow_renew: '{{license.canRenew}}',
            duration: '{{license.licenseDurationSeconds}}',
          },
        },
      }),
    );
    h = await startProxyHarness(
      { widevine: '/wv' },
      {
        USHER_PROXY_UPSTREAM_HEADERS: '{"x-api-key":"vendor-key"}',
        USHER_PROXY_UPSTREAM_TOKEN_SECRET: UPSTREAM_SECRET,
        USHER_PROXY_UPSTREAM_TOKEN_HEADER: 'X-Vendor-Auth',
        USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: template,
      },
      { plans: catalog(plan('basic', { maxStreams: 2 })) },
    );
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.upstream.received.length = 0;
    h.upstream.answer = {};
  });

  const octets = { 'content-type': 'application/octet-stream' };

  it('allow forwards the byte-identical challenge and returns the upstream bytes', async () => {
    const token = await playerToken({ sub: user(), deviceId: 'chrome-1' });
    const licence = Buffer.from([0x08, 0x02, 0x12, 0x00, 0xff, 0x00, 0x7f]);
    h.upstream.answer = { status: 200, body: licence, contentType: 'application/octet-stream' };
    const res = await h.post('widevine', token, CHROME_2019, octets);
    expect(res.status).toBe(200);
    expect((res.body as Buffer).equals(licence)).toBe(true);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['x-usher-decision']).toBe('allow');
    expect(res.headers['x-usher-reason']).toBe('admitted');
    expect(res.headers['x-usher-session-id']).toMatch(/^wv-[A-Za-z0-9_-]{22}$/);
    const [got] = h.upstream.received;
    expect(got.path).toBe('/wv');
    expect(got.body.equals(CHROME_2019)).toBe(true);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.headers['x-api-key']).toBe('vendor-key');
  });

  it('the minted upstream token verifies and carries the template fields', async () => {
    const u = user();
    const token = await playerToken({ sub: u, deviceId: 'chrome-1', contentId: 'movie-9' });
    const res = await h.post('widevine', token, CHROME_2017, octets);
    const minted = h.upstream.received[0].headers['x-vendor-auth'] as string;
    const { payload } = await jwtVerify(minted, new TextEncoder().encode(UPSTREAM_SECRET), {
      algorithms: ['HS256'],
    });
    expect(payload).toMatchObject({
      version: 1,
      com_key_id: 'usher',
      message: {
        type: 'entitlement_message',
        user: u,
        session: res.headers['x-usher-session-id'],
        device: 'chrome-1',
        content: 'movie-9',
        drm: 'widevine',
        plan: 'basic',
        // the decision's licence policy: interval 60 + grace 30 of the plan
        license: { allow_renew: true, duration: 90 },
      },
    });
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(60);
    expect(payload.jti).toEqual(expect.any(String));
    // The player's own token never goes upstream.
    expect(h.upstream.received[0].headers.authorization).toBeUndefined();
  });

  it('NEW then RENEWAL of one licence (same request id) count as one session', async () => {
    const u = user();
    const token = await playerToken({ sub: u, deviceId: 'chrome-1' });
    const first = await h.post('widevine', token, CHROME_2019, octets);
    const renewal = await h.post('widevine', token, existing(2, REQUEST_ID_2019), octets);
    expect(renewal.status).toBe(200);
    expect(renewal.headers['x-usher-reason']).toBe('renewed');
    expect(renewal.headers['x-usher-session-id']).toBe(first.headers['x-usher-session-id']);
    const sessions = await request(h.app.getHttpServer())
      .get(`/v1/users/${u}/sessions`)
      .set('authorization', 'Bearer test-admin-token');
    expect(sessions.body.activeStreams).toBe(1);
    expect(await h.storedKeys(u)).not.toEqual([]);
  });

  it('the same counter-like request id on two devices is two sessions; a third device is refused', async () => {
    const u = user();
    const on = async (deviceId: string) =>
      h.post('widevine', await playerToken({ sub: u, deviceId }), CHROME_2019, octets);
    const [a, b] = [await on('phone'), await on('tablet')];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers['x-usher-session-id']).not.toBe(b.headers['x-usher-session-id']);
    h.upstream.received.length = 0;
    const third = await on('tv');
    expect(third.status).toBe(403);
    expect(json(third)).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
    expect((json(third).conflicts as unknown[]).length).toBe(2);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a RELEASE frees the slot, then is forwarded', async () => {
    const u = user();
    const token = await playerToken({ sub: u, deviceId: 'chrome-1' });
    await h.post('widevine', token, CHROME_2019, octets);
    const release = existing(3, REQUEST_ID_2019);
    const res = await h.post('widevine', token, release, octets);
    expect(res.headers['x-usher-reason']).toBe('released');
    expect(h.upstream.received[1].body.equals(release)).toBe(true);
    expect(await h.storedKeys(u)).toEqual([]);
  });

  it('the service-certificate request passes through undecided and uncounted', async () => {
    const u = user();
    h.upstream.answer = { body: Buffer.from([0x08, 0x05]) };
    const res = await h.post(
      'widevine',
      await playerToken({ sub: u }),
      SERVICE_CERTIFICATE_REQUEST,
    );
    expect(res.status).toBe(200);
    expect((res.body as Buffer).equals(Buffer.from([0x08, 0x05]))).toBe(true);
    expect(res.headers['x-usher-decision']).toBeUndefined();
    expect(h.upstream.received[0].body.equals(SERVICE_CERTIFICATE_REQUEST)).toBe(true);
    expect(await h.storedKeys(u)).toEqual([]);
  });

  it('an invalid device id header is a 400 even on an undecided message', async () => {
    const token = await playerToken({ sub: user() });
    const res = await h.post('widevine', token, SERVICE_CERTIFICATE_REQUEST, {
      'x-usher-device-id': 'has space',
    });
    expect(res.status).toBe(400);
    expect(json(res).message).toMatch(/^deviceId:/);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('400 names what is wrong with a garbage challenge; nothing stored or forwarded', async () => {
    const u = user();
    const res = await h.post('widevine', await playerToken({ sub: u, deviceId: 'd' }), 'garbage');
    expect(res.status).toBe(400);
    expect(json(res).message).toMatch(/Widevine/);
    expect(h.upstream.received).toHaveLength(0);
    expect(await h.storedKeys(u)).toEqual([]);
  });

  it('counts every outcome in usher_proxy_requests_total and the upstream duration', async () => {
    const metrics = (await request(h.app.getHttpServer()).get('/metrics')).text;
    for (const outcome of ['forwarded', 'denied', 'passed_through', 'bad_request']) {
      expect(metrics).toMatch(
        new RegExp(`usher_proxy_requests_total\\{drm="widevine",outcome="${outcome}"\\} [1-9]`),
      );
    }
    expect(metrics).toMatch(/usher_proxy_upstream_duration_seconds_count\{drm="widevine"\} [1-9]/);
    // Heartbeats decided by the proxy count in the heartbeat metrics as well.
    expect(metrics).toMatch(
      /usher_heartbeats_total\{decision="allow",reason="renewed",drm="widevine",message_type="license-renewal",plan="basic"\} [1-9]/,
    );
  });
});
