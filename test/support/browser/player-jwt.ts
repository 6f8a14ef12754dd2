import { createHmac } from 'node:crypto';

/** Claims of the player token the platform's auth service would issue. */
export interface PlayerClaims {
  sub: string;
  deviceId?: string;
  sessionId?: string;
  contentId?: string;
  plan?: string;
  /** Seconds since the epoch; defaults to 10 minutes from now. */
  exp?: number;
}

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 JWT, signed here so the test does not trust the code it checks to make its tokens. */
export function signPlayerJwt(secret: string, claims: PlayerClaims): string {
  const payload = { exp: Math.floor(Date.now() / 1000) + 600, ...claims };
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}
