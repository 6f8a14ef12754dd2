import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TokenBook } from '../auth/token-book';
import { invalidRequest } from '../common/invalid-request';
import { PlanRegistry } from '../plans/plan-registry';
import { checkHeartbeatBody, heartbeatProblems } from './heartbeat-request';
import {
  HeartbeatRequest,
  HeartbeatRequestSchema,
  HeartbeatResponse,
  HeartbeatResponseSchema,
} from './heartbeat.schema';
import { HeartbeatService } from './heartbeat.service';

export const HEARTBEAT_PATH = '/v1/heartbeats';

/**
 * POST /v1/heartbeats as a plain Fastify route: token check, validation, decision. It skips
 * Nest's per-request pipeline (guard and interceptor consumers, router proxy, response
 * controller), which cost ~15 µs of CPU per heartbeat (docs/performance.md). Errors are
 * Nest's HttpExceptions, answered by the error handler Nest installs on Fastify, so every
 * route answers errors alike; the route is added at bootstrap, after that handler is set.
 *
 * Body and 200 answer are described by heartbeat.schema.ts: Fastify validates the body with the
 * validator compiled from it (this route's own, so no app-wide Ajv option applies) and writes the
 * answer with a serializer compiled from it. The schema errors are attached, not answered, so
 * that the token is checked first and the rules beyond the schema join them in one 400.
 */
@Injectable()
export class HeartbeatRoute implements OnApplicationBootstrap {
  private readonly isPlan = (name: string) => this.plans.has(name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly tokens: TokenBook,
    private readonly plans: PlanRegistry,
    private readonly heartbeats: HeartbeatService,
  ) {}

  onApplicationBootstrap(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post(
      HEARTBEAT_PATH,
      {
        schema: { body: HeartbeatRequestSchema, response: { 200: HeartbeatResponseSchema } },
        validatorCompiler: () => checkHeartbeatBody,
        attachValidation: true,
      },
      (request) => this.heartbeat(request),
    );
  }

  /** Not async: Fastify catches what it throws, and the decision's promise goes back as is. */
  private heartbeat(http: FastifyRequest): Promise<HeartbeatResponse> {
    this.tokens.admit(http.headers.authorization, 'license-server');
    const invalid = http.validationError;
    if (invalid && !invalid.validation) throw invalid;
    const problems = heartbeatProblems(http.body, invalid?.validation, this.isPlan);
    if (problems.length) throw invalidRequest(problems);
    return this.heartbeats.decide(http.body as HeartbeatRequest);
  }
}
