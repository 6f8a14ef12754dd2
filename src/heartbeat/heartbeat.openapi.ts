import { getSchemaPath, OpenAPIObject } from '@nestjs/swagger';
import { ErrorResponseDto, HeartbeatRequestDto, HeartbeatResponseDto } from './heartbeat.dto';
import { HEARTBEAT_PATH } from './heartbeat.route';

/** Models the hand-written heartbeat operation refers to (Nest's scanner sees no controller). */
export const HEARTBEAT_MODELS = [HeartbeatRequestDto, HeartbeatResponseDto, ErrorResponseDto];

const json = (model: (typeof HEARTBEAT_MODELS)[number]) => ({
  content: { 'application/json': { schema: { $ref: getSchemaPath(model) } } },
});

/** Adds POST /v1/heartbeats (a plain Fastify route, heartbeat.route.ts) to the document, first. */
export function documentHeartbeatRoute(document: OpenAPIObject): void {
  const post = {
    operationId: 'heartbeat',
    tags: ['renewal-check'],
    security: [{ bearer: [] }],
    summary: 'Report a license message and get allow or deny',
    description:
      'Call on every license-request, license-renewal and license-release. Allow and deny are both 200; a deny means: issue no new license.',
    requestBody: { required: true, ...json(HeartbeatRequestDto) },
    responses: {
      '200': { description: 'The decision (allow or deny)', ...json(HeartbeatResponseDto) },
      '400': { description: 'Every invalid field named', ...json(ErrorResponseDto) },
      '401': { description: 'Missing or unknown token' },
      '403': { description: 'Token of another role (admin)' },
      '413': { description: 'Body over 16 KiB' },
      '415': { description: 'Body is not application/json' },
      '503': { description: 'Store down and USHER_FAIL_MODE=closed' },
    },
  };
  document.paths = { [HEARTBEAT_PATH]: { post }, ...document.paths };
}
