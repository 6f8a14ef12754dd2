import { generateKeyPairSync } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { AppConfig } from '../../src/config/app-config';
import { PlayerTokenKey, ProxyConfig } from '../../src/config/proxy-config';
import { PlayerTokens } from '../../src/proxy/player-token';

const SECRET = 'unit-player-token-secret-of-32-bytes!';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }) as string;

function tokens(key: PlayerTokenKey, extra: Partial<ProxyConfig> = {}): PlayerTokens {
  const proxy: ProxyConfig = {
    upstreams: {},
    upstreamHeaders: {},
    upstreamTimeoutMs: 5000,
    corsOrigins: [],
    playerTokenKey: key,
    ...extra,
  };
  return new PlayerTokens({ proxy } as AppConfig);
}

type Signable = Parameters<SignJWT['sign']>[0];

async function sign(
  claims: Record<string, unknown>,
  alg: string,
  key: Signable,
  exp: string | null = '5m',
  kid?: string,
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt();
  if (exp) jwt.setExpirationTime(exp);
  return `Bearer ${await jwt.sign(key)}`;
}
const hs = (claims: Record<string, unknown>, exp: string | null = '5m', secret = SECRET) =>
  sign(claims, 'HS256', new TextEncoder().encode(secret), exp);

describe('player tokens', () => {
  const secret = tokens({ kind: 'secret', secret: SECRET });

  it('HS256: reads sub and the optional claims', async () => {
    const header = await hs({
      sub: 'user-1',
      plan: 'family',
      deviceId: 'tv',
      contentId: 'movie',
      sessionId: 'playback-1',
      licenseType: 'persistent',
      other: 'ignored',
    });
    await expect(secret.claims(header)).resolves.toEqual({
      userId: 'user-1',
      plan: 'family',
      deviceId: 'tv',
      contentId: 'movie',
      sessionId: 'playback-1',
      licenseType: 'persistent',
    });
  });

  it.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['no header', async () => undefined, /Bearer/],
    ['not a bearer', async () => 'Basic abc', /Bearer/],
    ['garbage', async () => 'Bearer not.a.jwt', /refused/],
    ['expired', () => hs({ sub: 'u' }, '-1m'), /expired/],
    ['no exp', () => hs({ sub: 'u' }, null), /exp/],
    ['no sub', () => hs({}), /sub/],
    [
      'a wrong secret',
      () => hs({ sub: 'u' }, '5m', 'another-secret-of-at-least-32-bytes!!'),
      /signature/,
    ],
    [
      'an RS256 token for an HS256 key',
      () => sign({ sub: 'u' }, 'RS256', rsa.privateKey),
      /algorithm/,
    ],
    ['a non-string claim', () => hs({ sub: 'u', deviceId: 7 }), /deviceId/],
    ['an unknown licenseType', () => hs({ sub: 'u', licenseType: 'rental' }), /licenseType/],
  ])('401s %s', async (_name, header, message) => {
    await expect(secret.claims(await header())).rejects.toMatchObject({
      status: 401,
      message: expect.stringMatching(message),
    });
  });

  it('checks iss and aud when configured', async () => {
    const strict = tokens(
      { kind: 'secret', secret: SECRET },
      { issuer: 'auth', audience: 'usher' },
    );
    await expect(strict.claims(await hs({ sub: 'u', iss: 'auth', aud: 'usher' }))).resolves.toEqual(
      {
        userId: 'u',
      },
    );
    await expect(
      strict.claims(await hs({ sub: 'u', iss: 'evil', aud: 'usher' })),
    ).rejects.toMatchObject({
      status: 401,
    });
    await expect(strict.claims(await hs({ sub: 'u', iss: 'auth' }))).rejects.toMatchObject({
      status: 401,
    });
  });

  it('RS256 and ES256 public keys', async () => {
    const rs = tokens({ kind: 'public-key', pem: pem(rsa.publicKey), algorithm: 'RS256' });
    const es = tokens({ kind: 'public-key', pem: pem(ec.publicKey), algorithm: 'ES256' });
    await expect(rs.claims(await sign({ sub: 'r' }, 'RS256', rsa.privateKey))).resolves.toEqual({
      userId: 'r',
    });
    await expect(es.claims(await sign({ sub: 'e' }, 'ES256', ec.privateKey))).resolves.toEqual({
      userId: 'e',
    });
    await expect(
      es.claims(
        await sign(
          { sub: 'e' },
          'ES256',
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
        ),
      ),
    ).rejects.toMatchObject({ status: 401 });
  });

  describe('JWKS URL', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('verifies with the key the JWKS names, refuses an unknown kid', async () => {
      const jwks = tokens({ kind: 'jwks', url });
      await expect(
        jwks.claims(await sign({ sub: 'j' }, 'RS256', rsa.privateKey, '5m', 'k1')),
      ).resolves.toEqual({ userId: 'j' });
      await expect(
        jwks.claims(await sign({ sub: 'j' }, 'RS256', rsa.privateKey, '5m', 'other')),
      ).rejects.toMatchObject({ status: 401 });
    });
  });
});
