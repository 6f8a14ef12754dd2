import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeartbeatService } from '../../src/heartbeat/heartbeat.service';
import { playerToken } from '../support/player-token';
import { json, ProxyHarness, startProxyHarness } from '../support/proxy-app';
import { catalog, plan } from '../support/test-app';

const FIXTURES = join(__dirname, '../fixtures/drm');
const CLEARKEY_REQUEST = readFileSync(join(FIXTURES, 'clearkey_license_request_eme_example.json'));
const CLEARKEY_RELEASE = readFileSync(join(FIXTURES, 'clearkey_license_release_eme_example.json'));
const PERSISTENT_REQUEST = '{"kids":["LwVHf8JLtPrv2GUXFW2v_A"],"type":"persistent-license"}';

describe('POST /v1/licenses/clearkey over HTTP (fake upstream on loopback)', () => {
  let h: ProxyHarness;
  let n = 0;
  const user = () => `ck-user-${++n}`;

  beforeAll(async () => {
    h = await startProxyHarness(
      { clearkey: '/clearkey' },
      {},
      { plans: catalog(plan('basic', { maxStreams: 1 })) },
    );
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.upstream.received.length = 0;
    h.upstream.answer = {};
    jest.restoreAllMocks();
  });

  it('admits a ClearKey request posted without a Content-Type and returns the upstream bytes', async () => {
    const token = await playerToken({ sub: user(), deviceId: 'tv-1' });
    h.upstream.answer = { contentType: 'application/json', body: '{"keys":[],"type":"temporary"}' };
    // The harness sets no Content-Type for a Buffer body, as Shaka Player does.
    const res = await h.post('clearkey', token, CLEARKEY_REQUEST);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect((res.body as Buffer).toString()).toBe('{"keys":[],"type":"temporary"}');
    expect(res.headers['x-usher-decision']).toBe('allow');
    expect(res.headers['x-usher-reason']).toBe('admitted');
    expect(res.headers['x-usher-session-id']).toMatch(/^syn-/);
    expect(h.upstream.received).toHaveLength(1);
    expect(h.upstream.received[0].path).toBe('/clearkey');
    expect(h.upstream.received[0].headers['content-type']).toBeUndefined();
    expect(h.upstream.received[0].body.equals(CLEARKEY_REQUEST)).toBe(true);
    expect(h.upstream.received[0].headers.authorization).toBeUndefined();
  });

  it('denies a second device over the limit with 403 and conflicts; the upstream sees nothing', async () => {
    const u = user();
    const first = await h.post(
      'clearkey',
      await playerToken({ sub: u, deviceId: 'tv' }),
      CLEARKEY_REQUEST,
    );
    expect(first.status).toBe(200);
    h.upstream.received.length = 0;
    const second = await h.post(
      'clearkey',
      await playerToken({ sub: u, deviceId: 'phone' }),
      CLEARKEY_REQUEST,
    );
    expect(second.status).toBe(403);
    expect(json(second)).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
    expect(json(second).conflicts).toEqual([
      expect.objectContaining({ deviceId: 'tv', drm: 'clearkey' }),
    ]);
    expect(second.headers['x-usher-decision']).toBe('deny');
    expect(second.headers['x-usher-reason']).toBe('limit_exceeded');
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a release ({ kids } alone) frees the slot, then is forwarded; the other device is admitted after it', async () => {
    const u = user();
    const tv = await playerToken({ sub: u, deviceId: 'tv' });
    expect((await h.post('clearkey', tv, CLEARKEY_REQUEST)).status).toBe(200);
    // A string body: superagent would serialize a Buffer sent as application/json.
    const released = await h.post('clearkey', tv, CLEARKEY_RELEASE.toString(), {
      'content-type': 'application/json',
    });
    expect(released.status).toBe(200);
    expect(released.headers['x-usher-reason']).toBe('released');
    expect(h.upstream.received[1].body.equals(CLEARKEY_RELEASE)).toBe(true);
    expect(h.upstream.received[1].headers['content-type']).toBe('application/json');
    const phone = await h.post(
      'clearkey',
      await playerToken({ sub: u, deviceId: 'phone' }),
      CLEARKEY_REQUEST,
    );
    expect(phone.status).toBe(200);
  });

  it('the playback id header names the session when the token has none', async () => {
    const token = await playerToken({ sub: user() });
    const res = await h.post('clearkey', token, CLEARKEY_REQUEST, {
      'x-usher-session-id': 'playback-7',
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-usher-session-id']).toBe('playback-7');
  });

  it('400 without any device or playback id, nothing forwarded', async () => {
    const res = await h.post('clearkey', await playerToken({ sub: user() }), CLEARKEY_REQUEST);
    expect(res.status).toBe(400);
    expect(json(res).message).toMatch(/deviceId/);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('type persistent-license is decided with licenseType persistent', async () => {
    const decide = jest.spyOn(h.app.get(HeartbeatService), 'decide');
    const token = await playerToken({ sub: user(), deviceId: 'laptop' });
    expect((await h.post('clearkey', token, PERSISTENT_REQUEST)).status).toBe(200);
    expect(decide).toHaveBeenCalledWith(
      expect.objectContaining({ messageType: 'license-request', licenseType: 'persistent' }),
    );
  });

  it('400 when the token and the challenge disagree on the licence type', async () => {
    const token = await playerToken({ sub: user(), deviceId: 'laptop', licenseType: 'streaming' });
    const res = await h.post('clearkey', token, PERSISTENT_REQUEST);
    expect(res.status).toBe(400);
    expect(json(res).message).toMatch(/licenseType: the token says streaming/);
    expect(h.upstream.received).toHaveLength(0);
  });
});
