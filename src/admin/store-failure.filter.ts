import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ConfigStoreError } from '../plans/config-store-error';
import { StoreError } from '../sessions/session-store';

/**
 * The admin API needs Redis for every change and look-up (GET /v1/plans excepted: it answers from
 * memory). When Redis fails, say so with a 503 the caller can retry, not an opaque 500.
 */
@Catch(ConfigStoreError, StoreError)
export class StoreFailureFilter implements ExceptionFilter {
  private readonly logger = new Logger('Admin');

  catch(err: Error, host: ArgumentsHost): void {
    this.logger.warn(`admin request failed: ${err.message}`);
    void host.switchToHttp().getResponse<FastifyReply>().status(503).send({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'the store (Redis) did not answer; try again',
    });
  }
}
