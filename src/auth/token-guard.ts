import { createHash } from 'node:crypto';
import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PUBLIC_METADATA, RequestWithCaller, Role, ROLE_METADATA } from './roles';

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Bearer-token auth with two roles. Tokens are looked up by their SHA-256 digest: the lookup
 * time depends on the digest, not on how much of a secret token a caller guessed right.
 */
@Injectable()
export class TokenGuard implements CanActivate {
  private readonly roleByDigest = new Map<string, Role>();
  private readonly open: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    for (const token of config.licenseServerTokens)
      this.roleByDigest.set(sha256(token), 'license-server');
    for (const token of config.adminTokens) this.roleByDigest.set(sha256(token), 'admin');
    this.open = this.roleByDigest.size === 0;
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets)) return true;
    const required = this.reflector.getAllAndOverride<Role>(ROLE_METADATA, targets);
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    if (this.open) {
      request.caller = { role: 'open', tokenFingerprint: 'none' };
      return true;
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('Authorization: Bearer <token> is required');
    const digest = sha256(match[1]);
    const role = this.roleByDigest.get(digest);
    if (!role) throw new UnauthorizedException('unknown token');
    // A route without a declared role is closed to every token: a safe default for new routes.
    if (role !== required)
      throw new ForbiddenException(`this token's role (${role}) cannot call this API`);
    request.caller = { role, tokenFingerprint: digest.slice(0, 12) };
    return true;
  }
}
