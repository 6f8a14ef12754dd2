import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Drm, DRMS } from '../common/drm';

/** How players' tokens are verified (docs/proxy.md "Security model"). */
export type PlayerTokenKey =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; pem: string; algorithm: 'RS256' | 'ES256' }
  | { kind: 'jwks'; url: string };

/** The short-lived token minted per forwarded request for the upstream licence server. */
export interface UpstreamTokenConfig {
  secret: string;
  header: string;
  /** The parsed JSON template; its strings may hold {{placeholders}} (UPSTREAM_TOKEN_FIELDS). */
  template: unknown;
}

/** Licence proxy (entitlement-proxy mode): USHER_PROXY_*; see docs/proxy.md. */
export interface ProxyConfig {
  /** Licence server URL per DRM; a DRM without one is not served (404). */
  upstreams: Partial<Record<Drm, string>>;
  upstreamHeaders: Record<string, string>;
  upstreamTimeoutMs: number;
  upstreamToken?: UpstreamTokenConfig;
  playerTokenKey?: PlayerTokenKey;
  issuer?: string;
  audience?: string;
  corsOrigins: string[];
}

/** Placeholders a template may use: the decision's identity and the licence policy fields. */
export const UPSTREAM_TOKEN_FIELDS = [
  'userId',
  'sessionId',
  'deviceId',
  'contentId',
  'drm',
  'plan',
  'license.canRenew',
  'license.canPersist',
  'license.licenseDurationSeconds',
  'license.playbackDurationSeconds',
  'license.renewalDelaySeconds',
  'license.renewalRetryIntervalSeconds',
  'license.renewalRecoveryDurationSeconds',
] as const;

/** Used when USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE is unset. */
export const DEFAULT_UPSTREAM_TOKEN_TEMPLATE = {
  sub: '{{userId}}',
  sessionId: '{{sessionId}}',
  deviceId: '{{deviceId}}',
  contentId: '{{contentId}}',
  drm: '{{drm}}',
  plan: '{{plan}}',
  license: '{{license}}',
};

export const PLACEHOLDER = /\{\{\s*([A-Za-z.]+)\s*\}\}/g;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What load-config's reader offers; kept narrow so this file stays independent of it. */
export interface ProxyEnv {
  readonly problems: string[];
  raw(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  list(name: string): string[];
  secret(name: string): string | undefined;
  url(name: string, schemes: string[]): string | undefined;
}

/** Every {{name}} in the template must be one usher can fill: a typo fails start-up. */
export function templateProblems(template: unknown): string[] {
  const known = new Set<string>([...UPSTREAM_TOKEN_FIELDS, 'license']);
  const problems: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const [, name] of value.matchAll(PLACEHOLDER)) {
        if (!known.has(name)) problems.push(`unknown placeholder {{${name}}}`);
      }
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(template);
  return problems;
}

function readJsonFile(r: ProxyEnv, name: string): unknown {
  const file = r.raw(name);
  if (file === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    r.problems.push(`${name}: cannot read JSON from ${file} (${(err as Error).message})`);
    return undefined;
  }
}

function upstreamHeaders(r: ProxyEnv): Record<string, string> {
  const name = 'USHER_PROXY_UPSTREAM_HEADERS';
  const value = r.raw(name);
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const ok =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.entries(parsed).every(([k, v]) => HEADER_NAME.test(k) && typeof v === 'string');
  if (!ok) {
    r.problems.push(`${name}: must be a JSON object of header names to string values`);
    return {};
  }
  return parsed as Record<string, string>;
}

function publicKey(r: ProxyEnv, file: string): PlayerTokenKey | undefined {
  const name = 'USHER_PROXY_JWT_PUBLIC_KEY_FILE';
  try {
    const pem = readFileSync(file, 'utf8');
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType === 'rsa') return { kind: 'public-key', pem, algorithm: 'RS256' };
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      return { kind: 'public-key', pem, algorithm: 'ES256' };
    }
    r.problems.push(`${name}: ${file} is neither an RSA (RS256) nor a P-256 (ES256) public key`);
  } catch (err) {
    r.problems.push(
      `${name}: cannot read a PEM public key from ${file} (${(err as Error).message})`,
    );
  }
  return undefined;
}

function playerTokenKey(r: ProxyEnv): PlayerTokenKey | undefined {
  const secret = r.secret('USHER_PROXY_JWT_SECRET');
  const keyFile = r.raw('USHER_PROXY_JWT_PUBLIC_KEY_FILE');
  const jwksUrl = r.url('USHER_PROXY_JWKS_URL', ['https:', 'http:']);
  const set = [secret, keyFile, jwksUrl].filter((v) => v !== undefined).length;
  if (set > 1) {
    r.problems.push(
      'USHER_PROXY_JWT_SECRET, USHER_PROXY_JWT_PUBLIC_KEY_FILE, USHER_PROXY_JWKS_URL: set only one of them',
    );
  }
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < 32) {
      r.problems.push('USHER_PROXY_JWT_SECRET: must be at least 32 bytes (HS256)');
    }
    return { kind: 'secret', secret };
  }
  if (keyFile !== undefined) return publicKey(r, keyFile);
  if (jwksUrl !== undefined) return { kind: 'jwks', url: jwksUrl };
  return undefined;
}

function upstreamToken(r: ProxyEnv): UpstreamTokenConfig | undefined {
  const secret = r.secret('USHER_PROXY_UPSTREAM_TOKEN_SECRET');
  const header = r.raw('USHER_PROXY_UPSTREAM_TOKEN_HEADER');
  const template = readJsonFile(r, 'USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE');
  if (secret === undefined) {
    if (header !== undefined || template !== undefined) {
      r.problems.push(
        'USHER_PROXY_UPSTREAM_TOKEN_SECRET: required with USHER_PROXY_UPSTREAM_TOKEN_HEADER or _TEMPLATE_FILE',
      );
    }
    return undefined;
  }
  if (header === undefined || !HEADER_NAME.test(header)) {
    r.problems.push(
      'USHER_PROXY_UPSTREAM_TOKEN_HEADER: required with USHER_PROXY_UPSTREAM_TOKEN_SECRET (a header name, e.g. x-vendor-auth)',
    );
  }
  if (template !== undefined && (typeof template !== 'object' || Array.isArray(template))) {
    r.problems.push('USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: must hold a JSON object');
  }
  for (const problem of templateProblems(template)) {
    r.problems.push(`USHER_PROXY_UPSTREAM_TOKEN_TEMPLATE_FILE: ${problem}`);
  }
  return {
    secret,
    header: header ?? '',
    template: template ?? DEFAULT_UPSTREAM_TOKEN_TEMPLATE,
  };
}

/** Parses every USHER_PROXY_* variable; problems go to the shared list (one start-up error). */
export function loadProxyConfig(r: ProxyEnv): ProxyConfig {
  const upstreams: Partial<Record<Drm, string>> = {};
  for (const drm of DRMS) {
    const url = r.url(`USHER_PROXY_UPSTREAM_${drm.toUpperCase()}`, ['http:', 'https:']);
    if (url !== undefined) upstreams[drm] = url;
  }
  const config: ProxyConfig = {
    upstreams,
    upstreamHeaders: upstreamHeaders(r),
    upstreamTimeoutMs: r.integer('USHER_PROXY_UPSTREAM_TIMEOUT_MS', 5000, 100, 120000),
    upstreamToken: upstreamToken(r),
    playerTokenKey: playerTokenKey(r),
    issuer: r.raw('USHER_PROXY_JWT_ISSUER'),
    audience: r.raw('USHER_PROXY_JWT_AUDIENCE'),
    corsOrigins: r.list('USHER_PROXY_CORS_ORIGINS'),
  };
  if (Object.keys(upstreams).length && !config.playerTokenKey) {
    r.problems.push(
      'USHER_PROXY_JWT_SECRET, USHER_PROXY_JWT_PUBLIC_KEY_FILE or USHER_PROXY_JWKS_URL: one is required when a USHER_PROXY_UPSTREAM_<DRM> is set',
    );
  }
  for (const origin of config.corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      r.problems.push(
        `USHER_PROXY_CORS_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path) or *`,
      );
    }
  }
  return config;
}
