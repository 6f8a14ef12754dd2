import { idProblem, USER_ID_MAX } from '../common/ids';
import { Drm, DRMS } from '../sessions/session-identity';
import { LICENSE_TYPES, LicenseType } from './license-policy';

export const MESSAGE_TYPES = ['license-request', 'license-renewal', 'license-release'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface HeartbeatRequest {
  userId: string;
  drm: Drm;
  messageType: MessageType;
  sessionId?: string;
  customSessionId?: string;
  deviceId?: string;
  contentId?: string;
  plan?: string;
  /** streaming (default) or persistent (a download: offline, rental). */
  licenseType?: LicenseType;
  /** license-request only: a live session of the same user to stop first (takeover). */
  takeoverSessionId?: string;
}

const OPTIONAL_IDS = [
  'sessionId',
  'customSessionId',
  'deviceId',
  'contentId',
  'takeoverSessionId',
] as const;
const KNOWN_FIELDS = new Set<string>([
  'userId',
  'drm',
  'messageType',
  'plan',
  'licenseType',
  ...OPTIONAL_IDS,
]);

function enumProblem(
  field: string,
  value: unknown,
  allowed: readonly string[],
): string | undefined {
  if (value === undefined) return `${field}: required (one of ${allowed.join(', ')})`;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    return `${field}: must be one of ${allowed.join(', ')}`;
  }
  return undefined;
}

/**
 * Validates a heartbeat body and names every bad field. Hand-written rather than decorator-driven
 * because it runs on every license message: one pass, no intermediate class instances.
 * `isKnownPlan` says which plan names exist right now.
 */
export function validateHeartbeat(
  body: unknown,
  isKnownPlan: (name: string) => boolean,
): { request?: HeartbeatRequest; problems: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problems: ['body: must be a JSON object'] };
  }
  const input = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) problems.push(`${key}: unknown field`);
  }
  if (input.userId === undefined) problems.push('userId: required');
  else push(problems, idProblem('userId', input.userId, USER_ID_MAX));
  push(problems, enumProblem('drm', input.drm, DRMS));
  push(problems, enumProblem('messageType', input.messageType, MESSAGE_TYPES));
  for (const field of OPTIONAL_IDS) {
    if (input[field] !== undefined) push(problems, idProblem(field, input[field]));
  }
  if (input.licenseType !== undefined) {
    push(problems, enumProblem('licenseType', input.licenseType, LICENSE_TYPES));
  }
  if (input.plan !== undefined) {
    if (typeof input.plan !== 'string' || !isKnownPlan(input.plan)) {
      problems.push(`plan: ${JSON.stringify(input.plan)} is not a known plan`);
    }
  }
  if (
    input.customSessionId === undefined &&
    input.sessionId === undefined &&
    input.deviceId === undefined
  ) {
    problems.push(
      'deviceId: required when neither customSessionId nor sessionId is given (the session id is synthesized from it)',
    );
  }
  return problems.length
    ? { problems }
    : { request: input as unknown as HeartbeatRequest, problems };
}

function push(problems: string[], problem: string | undefined): void {
  if (problem) problems.push(problem);
}
