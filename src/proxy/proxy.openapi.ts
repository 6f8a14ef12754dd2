import { OpenAPIObject } from '@nestjs/swagger';
import {
  addHeartbeatComponents,
  HeartbeatComponent,
  heartbeatSchemaRef,
} from '../heartbeat/heartbeat.openapi';
import { ALLOWED_REQUEST_HEADERS, EXPOSED_HEADERS } from './cors';

export const LICENSE_OPENAPI_PATH = '/v1/licenses/{drm}';

const json = (name: HeartbeatComponent) => ({
  content: { 'application/json': { schema: heartbeatSchemaRef(name) } },
});
const usherHeaders = {
  'X-Usher-Decision': { schema: { type: 'string', enum: ['allow', 'deny'] } },
  'X-Usher-Reason': { schema: { type: 'string' }, description: 'The decision reason' },
  'X-Usher-Session-Id': { schema: { type: 'string' }, description: 'The effective session id' },
};
const headerParam = (name: string, description: string) => ({
  in: 'header' as const,
  name,
  required: false,
  schema: { type: 'string' },
  description,
});

/** Adds POST /v1/licenses/{drm} (a plain Fastify route, license.route.ts) to the document. */
export function documentLicenseRoute(document: OpenAPIObject): void {
  addHeartbeatComponents(document);
  const post = {
    operationId: 'license',
    tags: ['licence-proxy'],
    security: [{ bearer: [] }],
    summary:
      "Proxy a CDM's licence message to the licence server, after the same decision as a heartbeat",
    description: [
      'For players: set this URL as the licence server URL and send the player token (a JWT from the platform) as Authorization: Bearer.',
      'The body is the CDM message as is (Widevine SignedMessage, PlayReady SOAP, FairPlay SPC, ClearKey JSON), with any Content-Type or none, at most 64 KiB.',
      'Served only for DRMs whose USHER_PROXY_UPSTREAM_<DRM> is set. See docs/proxy.md.',
      `CORS: request headers ${ALLOWED_REQUEST_HEADERS}; exposed ${EXPOSED_HEADERS}.`,
    ].join(' '),
    parameters: [
      {
        in: 'path' as const,
        name: 'drm',
        required: true,
        schema: { type: 'string', enum: ['widevine', 'playready', 'fairplay', 'clearkey'] },
      },
      headerParam(
        'X-Usher-Session-Id',
        "The app's playback id, when the token has no sessionId claim",
      ),
      headerParam('X-Usher-Device-Id', 'The device id, when the token has no deviceId claim'),
      headerParam(
        'X-Usher-Message-Type',
        'FairPlay only: license-request (default), license-renewal or license-release',
      ),
    ],
    requestBody: {
      required: true,
      content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
    },
    responses: {
      '200': {
        description:
          "Allowed (or not a licence message, e.g. a Widevine service-certificate request): the licence server's status, body and Content-Type",
        headers: usherHeaders,
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      },
      '400': {
        description: 'The challenge is not a message of its DRM, or an id is invalid',
        ...json('ErrorResponseDto'),
      },
      '401': {
        description: 'Missing, invalid or expired player token',
        ...json('ErrorResponseDto'),
      },
      '403': {
        description:
          'Denied: the heartbeat answer (reason, conflicts); the licence server was not called',
        headers: usherHeaders,
        ...json('HeartbeatResponseDto'),
      },
      '404': { description: 'No licence server is configured for this DRM' },
      '413': { description: 'Body over 64 KiB' },
      '502': {
        description: 'The licence server could not be reached (the decision stands)',
        headers: usherHeaders,
      },
      '503': { description: 'Store down and USHER_FAIL_MODE=closed' },
      '504': {
        description: 'The licence server did not answer in time (the decision stands)',
        headers: usherHeaders,
      },
    },
  };
  document.paths = { ...document.paths, [LICENSE_OPENAPI_PATH]: { post } };
}
