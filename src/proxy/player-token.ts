import { createPublicKey, KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PlayerTokenKey } from '../config/proxy-config';

/** What a player's token says about the playback; every field but userId is optional. */
export interface PlayerClaims {
  userId: string;
  plan?: string;
  deviceId?: string;
  contentId?: string;
  sessionId?: string;
  licenseType?: 'streaming' | 'persistent';
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** Clock difference tolerated between the token issuer and usher. */
const CLOCK_TOLERANCE_SECONDS = 5;
const OPTIONAL_STRING_CLAIMS = ['plan', 'deviceId', 'contentId', 'sessionId'] as const;

type Verifier = (token: string) => Promise<JWTPayload>;

/**
 * Verifies the player's `Authorization: Bearer <JWT>` (HS256 secret, RS256/ES256 public key or
 * a JWKS URL), with `exp` required and `iss`/`aud` checked when configured. Any failure is a
 * 401 whose message names the rule, never the token.
 */
@Injectable()
export class PlayerTokens {
  private readonly verify: Verifier;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { playerTokenKey, issuer, audience } = config.proxy;
    this.verify = playerTokenKey ? verifier(playerTokenKey, issuer, audience) : refuseAll;
  }

  async claims(header: string | string[] | undefined): Promise<PlayerClaims> {
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!match) throw new UnauthorizedException('Authorization: Bearer <player token> is required');
    let payload: JWTPayload;
    try {
      payload = await this.verify(match[1]);
    } catch (err) {
      throw new UnauthorizedException(`player token refused: ${reason(err)}`);
    }
    return readClaims(payload);
  }
}

function verifier(key: PlayerTokenKey, issuer?: string, audience?: string): Verifier {
  const options = {
    issuer,
    audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  if (key.kind === 'secret') {
    const secret = new TextEncoder().encode(key.secret);
    return async (token) =>
      (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
  }
  if (key.kind === 'public-key') {
    const publicKey: KeyObject = createPublicKey(key.pem);
    return async (token) =>
      (await jwtVerify(token, publicKey, { ...options, algorithms: [key.algorithm] })).payload;
  }
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(key.url));
  return async (token) =>
    (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
}

const refuseAll: Verifier = () => Promise.reject(new Error('no player token key is configured'));

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no matching key';
  if (err instanceof errors.JOSEError) return err.code;
  return 'invalid';
}

function readClaims(payload: JWTPayload): PlayerClaims {
  if (typeof payload.sub !== 'string')
    throw new UnauthorizedException('claim sub: must be a string');
  const claims: PlayerClaims = { userId: payload.sub };
  for (const name of OPTIONAL_STRING_CLAIMS) {
    const value = payload[name];
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw new UnauthorizedException(`claim ${name}: must be a string`);
    claims[name] = value;
  }
  const licenseType = payload.licenseType;
  if (licenseType !== undefined) {
    if (licenseType !== 'streaming' && licenseType !== 'persistent') {
      throw new UnauthorizedException('claim licenseType: must be streaming or persistent');
    }
    claims.licenseType = licenseType;
  }
  return claims;
}
