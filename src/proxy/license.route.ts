import { STATUS_CODES } from 'node:http';
import {
  HttpException,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LicenseCors } from './cors';
import { LicenseProxy, ProxyResult } from './license-proxy.service';
import { ProxyMetrics, ProxyOutcome } from './proxy-metrics';

export const LICENSE_PATH = '/v1/licenses/:drm';
/** A CDM's licence message is a few KiB; a PlayReady challenge with certificates stays far below. */
export const LICENSE_BODY_LIMIT_BYTES = 64 * 1024;

type LicenseRequest = FastifyRequest<{ Params: { drm: string } }>;

/**
 * POST /v1/licenses/{drm} as a plain Fastify route in a scope of its own: there, and only
 * there, any body (any Content-Type or none, as players post raw bytes) is read as bytes up to
 * 64 KiB, CORS applies to every answer, and errors are answered (and counted) by this scope.
 * The rest of the app keeps its JSON-only, 16 KiB rules.
 */
@Injectable()
export class LicenseRoute implements OnApplicationBootstrap {
  private readonly logger = new Logger('LicenseRoute');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly proxy: LicenseProxy,
    private readonly cors: LicenseCors,
    private readonly metrics: ProxyMetrics,
  ) {}

  onApplicationBootstrap(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        '*',
        { parseAs: 'buffer', bodyLimit: LICENSE_BODY_LIMIT_BYTES },
        (_request, body, done) => done(null, body),
      );
      scope.addHook('onRequest', (request, reply, done) => {
        this.cors.decorate(request, reply);
        done();
      });
      scope.setErrorHandler((error: FastifyError, request, reply) =>
        this.failed(error, request as LicenseRequest, reply),
      );
      scope.options(LICENSE_PATH, (_request, reply) => this.cors.preflight(reply));
      scope.post(LICENSE_PATH, { bodyLimit: LICENSE_BODY_LIMIT_BYTES }, (request, reply) =>
        this.license(request as LicenseRequest, reply),
      );
    });
  }

  private async license(request: LicenseRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { drm } = request.params;
    if (!this.proxy.serves(drm)) {
      throw new NotFoundException(`no licence server is configured for "${drm}"`);
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const result = await this.proxy.handle(drm, body, request.headers);
    return this.answer(drm, result, reply);
  }

  private answer(drm: string, result: ProxyResult, reply: FastifyReply): FastifyReply {
    const { decision } = result;
    if (decision) {
      reply.header('x-usher-decision', decision.decision);
      reply.header('x-usher-reason', decision.reason);
      reply.header('x-usher-session-id', decision.sessionId);
    }
    if (result.kind === 'denied') {
      this.metrics.count(drm, 'denied');
      return reply.status(403).send(result.decision);
    }
    if (result.kind === 'upstream-failed') {
      this.metrics.count(drm, 'upstream_error');
      const status = result.error.kind === 'timeout' ? 504 : 502;
      return reply.status(status).send({
        statusCode: status,
        error: STATUS_CODES[status],
        message: `the ${drm} licence server ${
          result.error.kind === 'timeout' ? 'did not answer in time' : 'could not be reached'
        }`,
      });
    }
    this.metrics.count(drm, decision ? 'forwarded' : 'passed_through');
    const { upstream } = result;
    reply.status(upstream.status);
    if (upstream.contentType) reply.header('content-type', upstream.contentType);
    return reply.send(upstream.body);
  }

  /** Every error of the scope: the app's usual error shape, counted when the DRM is served. */
  private failed(error: FastifyError, request: LicenseRequest, reply: FastifyReply): FastifyReply {
    let status: number;
    let body: unknown;
    if (error instanceof HttpException) {
      status = error.getStatus();
      const response = error.getResponse();
      body = typeof response === 'string' ? { statusCode: status, message: response } : response;
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      body = { statusCode: status, error: STATUS_CODES[status], message: error.message };
    } else {
      this.logger.error(error.stack ?? String(error));
      status = 500;
      body = { statusCode: 500, error: STATUS_CODES[500], message: 'Internal server error' };
    }
    const drm = request.params?.drm;
    const outcome = outcomeOf(status);
    if (outcome && drm !== undefined && this.proxy.serves(drm)) this.metrics.count(drm, outcome);
    return reply.status(status).send(body);
  }
}

function outcomeOf(status: number): ProxyOutcome | undefined {
  if (status === 401) return 'unauthorized';
  if (status === 400 || status === 413 || status === 415) return 'bad_request';
  return undefined;
}
