import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_METADATA, RequestWithCaller, Role, ROLE_METADATA } from './roles';
import { TokenBook } from './token-book';

/** Bearer-token auth of every Nest route, by the role the route declares (RequireRole). */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenBook,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets)) return true;
    const required = this.reflector.getAllAndOverride<Role | undefined>(ROLE_METADATA, targets);
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    request.caller = this.tokens.admit(request.headers.authorization, required);
    return true;
  }
}
