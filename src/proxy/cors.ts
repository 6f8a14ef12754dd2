import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** Request headers a player may send to the licence route. */
export const ALLOWED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'soapaction',
  'x-usher-session-id',
  'x-usher-device-id',
  'x-usher-message-type',
].join(', ');
/** Answer headers a player's script may read (why a licence was refused). */
export const EXPOSED_HEADERS = ['x-usher-decision', 'x-usher-reason', 'x-usher-session-id'].join(
  ', ',
);
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS of the licence route for the origins of USHER_PROXY_CORS_ORIGINS (`*`: any origin).
 * The headers go on every answer, errors included, so a player can read why it was refused.
 * No credentials (cookies) are involved: players authenticate with a bearer token.
 */
@Injectable()
export class LicenseCors {
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.origins = new Set(config.proxy.corsOrigins);
    this.anyOrigin = this.origins.has('*');
  }

  /** Sets the answer's CORS headers when the request comes from an allowed origin. */
  decorate(request: FastifyRequest, reply: FastifyReply): boolean {
    const origin = request.headers.origin;
    if (!this.anyOrigin) reply.header('vary', 'Origin');
    if (typeof origin !== 'string' || !(this.anyOrigin || this.origins.has(origin))) return false;
    reply.header('access-control-allow-origin', this.anyOrigin ? '*' : origin);
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    return true;
  }

  /** OPTIONS: 204, with the allowances only for an allowed origin (the browser then refuses). */
  preflight(reply: FastifyReply): FastifyReply {
    if (reply.hasHeader('access-control-allow-origin')) {
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', ALLOWED_REQUEST_HEADERS);
      reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    return reply.status(204).send();
  }
}
