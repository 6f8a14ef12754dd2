import { createHash } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Caller, Role } from './roles';

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const OPEN: Caller = { role: 'open', tokenFingerprint: 'none' };

/** Authorization headers remembered once verified: a few per configured token at most. */
const MAX_REMEMBERED_HEADERS = 256;

/**
 * The configured bearer tokens and their roles. Tokens are looked up by their SHA-256 digest:
 * the lookup time depends on the digest, not on how much of a secret token a caller guessed
 * right. A header that named a known token is remembered, so a license server's steady stream of
 * heartbeats hashes its token once, not per request (~3 µs each). A remembered-header lookup
 * compares content only on a full 32-bit string-hash match, so its timing says nothing useful
 * about a token; unknown headers are never remembered.
 */
@Injectable()
export class TokenBook {
  private readonly roleByDigest = new Map<string, Role>();
  private readonly callerByHeader = new Map<string, Caller>();
  private readonly open: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    for (const token of config.licenseServerTokens)
      this.roleByDigest.set(sha256(token), 'license-server');
    for (const token of config.adminTokens) this.roleByDigest.set(sha256(token), 'admin');
    this.open = this.roleByDigest.size === 0;
  }

  /**
   * The caller an Authorization header names, if it may call an API that needs `required`:
   * 401 without a known token, 403 for a token of another role. An API without a declared role
   * is closed to every token: a safe default for new routes.
   */
  admit(header: string | string[] | undefined, required: Role | undefined): Caller {
    if (this.open) return OPEN;
    const caller =
      (typeof header === 'string' && this.callerByHeader.get(header)) || this.identify(header);
    if (caller.role !== required)
      throw new ForbiddenException(`this token's role (${caller.role}) cannot call this API`);
    return caller;
  }

  private identify(header: string | string[] | undefined): Caller {
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!match) throw new UnauthorizedException('Authorization: Bearer <token> is required');
    const digest = sha256(match[1]);
    const role = this.roleByDigest.get(digest);
    if (!role) throw new UnauthorizedException('unknown token');
    const caller: Caller = { role, tokenFingerprint: digest.slice(0, 12) };
    if (this.callerByHeader.size < MAX_REMEMBERED_HEADERS)
      this.callerByHeader.set(match.input, caller);
    return caller;
  }
}
