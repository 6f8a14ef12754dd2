import { decodeProtectedHeader, jwtVerify } from 'jose';
import { fillTemplate, UpstreamTokenMinter } from '../../src/proxy/upstream-token';

const LICENSE = {
  canRenew: true,
  canPersist: false,
  licenseDurationSeconds: 90,
  playbackDurationSeconds: 0,
  renewalDelaySeconds: 60,
  renewalRetryIntervalSeconds: 10,
  renewalRecoveryDurationSeconds: 30,
};
const FIELDS = {
  userId: 'user-1',
  sessionId: 'wv-abc',
  deviceId: 'tv',
  drm: 'widevine',
  plan: 'family',
  license: LICENSE,
};

describe('upstream token template', () => {
  it('a whole-string placeholder keeps the JSON type; absent values drop their key', () => {
    const template = {
      sub: '{{userId}}',
      content: '{{contentId}}',
      policy: {
        can_renew: '{{license.canRenew}}',
        duration: '{{ license.licenseDurationSeconds }}',
      },
      all: '{{license}}',
      list: ['{{drm}}', '{{contentId}}'],
      fixed: 7,
    };
    expect(fillTemplate(template, FIELDS)).toEqual({
      sub: 'user-1',
      policy: { can_renew: true, duration: 90 },
      all: LICENSE,
      list: ['widevine'],
      fixed: 7,
    });
  });

  it('placeholders inside longer strings are replaced by text (absent: empty)', () => {
    expect(fillTemplate({ k: '{{userId}}/{{deviceId}}/{{contentId}}' }, FIELDS)).toEqual({
      k: 'user-1/tv/',
    });
  });

  it('license fields are dropped while the decision carries no licence policy', () => {
    expect(fillTemplate({ r: '{{license.canRenew}}' }, { ...FIELDS, license: undefined })).toEqual(
      {},
    );
  });

  it('mints an HS256 token of at most 60 s with a unique jti', async () => {
    const secret = 'upstream-secret';
    const minter = new UpstreamTokenMinter({
      secret,
      header: 'x-vendor-auth',
      template: { user: '{{userId}}', session: '{{sessionId}}', exp: 1 },
    });
    const [a, b] = [await minter.mint(FIELDS), await minter.mint(FIELDS)];
    const { payload } = await jwtVerify(a, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
    });
    expect(decodeProtectedHeader(a)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ user: 'user-1', session: 'wv-abc' });
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(60);
    expect((payload.exp as number) - (payload.iat as number)).toBeGreaterThan(0);
    const other = await jwtVerify(b, new TextEncoder().encode(secret));
    expect(other.payload.jti).toEqual(expect.any(String));
    expect(other.payload.jti).not.toBe(payload.jti);
  });
});
