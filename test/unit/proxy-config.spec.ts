import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { DEFAULT_UPSTREAM_TOKEN_TEMPLATE } from '../../src/config/proxy-config';

const dir = mkdtempSync(join(tmpdir(), 'usher-proxy-config-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const plansFile = file('plans.yaml', 'defaultPlan: basic\nplans:\n  basic: {}\n');
const base = { USHER_PLANS_FILE: plansFile, REDIS_URL: 'redis://127.0.0.1:1' };
const SECRET = 'a-player-token-secret-of-32-bytes!!';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('USHER_PROXY_* configuration', () => {
  it('is off by default: no DRM is served', () => {
    expect(loadConfig(base).proxy).toEqual({
      upstreams: {},
      upstreamHeaders: {},
      upstreamTimeoutMs: 5000,
      upstreamToken: undefined,
      playerTokenKey: undefined,
      issuer: undefined,
      audience: undefined,
      corsOrigins: [],
    });
  });

  it('reads every variable', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = file(
      'player.pem',
      ec.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    );
    const template = file('template.json', '{"user":"{{userId}}","renew":"{{license.canRenew}}"}');
    const { proxy } = loadConfig({
      ...base,
      USHER_PROXY_UPSTREAM_WIDEVINE: 'https://wv.example/licence',
      USHER_PROXY_UPSTREAM_PLAYREADY: 'http://pr.example/rightsmanager.asmx',
      USHER_PROXY_UPSTREAM_HEADERS: '{"x-api-key":"k"}',
      USHER_PROXY_UPSTREAM_TIMEOUT_MS: '2500',
      USHER_PROXY_UPSTREAM_TOKEN_SECRET: 'vendor-secret',
      USHER_PROXY_UPSTREAM_TOKEN_HEADER: 'x-vendor-auth',
      USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: template,
      USHER_PROXY_JWT_PUBLIC_KEY_FILE: keyFile,
      USHER_PROXY_JWT_ISSUER: 'https://auth.example',
      USHER_PROXY_JWT_AUDIENCE: 'usher',
      USHER_PROXY_CORS_ORIGINS: 'https://player.example, http://localhost:3000',
    });
    expect(proxy).toMatchObject({
      upstreams: {
        widevine: 'https://wv.example/licence',
        playready: 'http://pr.example/rightsmanager.asmx',
      },
      upstreamHeaders: { 'x-api-key': 'k' },
      upstreamTimeoutMs: 2500,
      upstreamToken: {
        secret: 'vendor-secret',
        header: 'x-vendor-auth',
        template: { user: '{{userId}}', renew: '{{license.canRenew}}' },
      },
      playerTokenKey: { kind: 'public-key', algorithm: 'ES256' },
      issuer: 'https://auth.example',
      audience: 'usher',
      corsOrigins: ['https://player.example', 'http://localhost:3000'],
    });
  });

  it('a minted token without a template file uses the default template', () => {
    const { proxy } = loadConfig({
      ...base,
      USHER_PROXY_UPSTREAM_TOKEN_SECRET: 's',
      USHER_PROXY_UPSTREAM_TOKEN_HEADER: 'x-auth',
    });
    expect(proxy.upstreamToken?.template).toEqual(DEFAULT_UPSTREAM_TOKEN_TEMPLATE);
    expect(
      loadConfig({ ...base, USHER_PROXY_JWKS_URL: 'https://auth.example/jwks.json' }).proxy
        .playerTokenKey,
    ).toEqual({ kind: 'jwks', url: 'https://auth.example/jwks.json' });
  });

  it('names every bad variable in one error', () => {
    const found = problems({
      USHER_PROXY_UPSTREAM_CLEARKEY: 'ftp://x',
      USHER_PROXY_UPSTREAM_FAIRPLAY: 'https://fp.example',
      USHER_PROXY_UPSTREAM_HEADERS: '["not","an object"]',
      USHER_PROXY_UPSTREAM_TIMEOUT_MS: '0',
      USHER_PROXY_UPSTREAM_TOKEN_SECRET: 'vendor',
      USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: file('bad.json', '{"u":"{{user}}"}'),
      USHER_PROXY_JWT_PUBLIC_KEY_FILE: file('not-a-key.pem', 'hello'),
      USHER_PROXY_JWKS_URL: 'https://auth.example/jwks.json',
      USHER_PROXY_CORS_ORIGINS: 'https://ok.example,https://with.path/x',
    });
    const named = (prefix: string) => expect.stringMatching(new RegExp(`^${prefix}`));
    expect(found).toEqual(
      expect.arrayContaining([
        named('USHER_PROXY_UPSTREAM_CLEARKEY:'),
        named('USHER_PROXY_UPSTREAM_HEADERS:'),
        named('USHER_PROXY_UPSTREAM_TIMEOUT_MS:'),
        named('USHER_PROXY_UPSTREAM_TOKEN_HEADER:'),
        expect.stringMatching(
          /^USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: unknown placeholder \{\{user\}\}/,
        ),
        named('USHER_PROXY_JWT_PUBLIC_KEY_FILE:'),
        named(
          'USHER_PROXY_JWT_SECRET, USHER_PROXY_JWT_PUBLIC_KEY_FILE, USHER_PROXY_JWKS_URL: set only one',
        ),
        named('USHER_PROXY_CORS_ORIGINS:'),
      ]),
    );
  });

  it('a served DRM needs a way to verify player tokens; a short HS256 secret is refused', () => {
    expect(problems({ USHER_PROXY_UPSTREAM_WIDEVINE: 'https://wv.example' })).toEqual([
      expect.stringMatching(/one is required when a USHER_PROXY_UPSTREAM_<DRM> is set/),
    ]);
    expect(
      problems({
        USHER_PROXY_UPSTREAM_WIDEVINE: 'https://wv.example',
        USHER_PROXY_JWT_SECRET: SECRET,
      }),
    ).toEqual([]);
    expect(problems({ USHER_PROXY_JWT_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^USHER_PROXY_JWT_SECRET: must be at least 32 bytes/),
    ]);
  });
});
