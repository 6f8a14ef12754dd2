import { COUNT_BY, ENFORCEMENT, ON_LIMIT } from '../config/plan';
import { invalidRequest } from '../common/invalid-request';
import { ID_MAX, idProblem, USER_ID_MAX } from '../common/ids';
import { Override } from '../plans/override-store';

const OVERRIDE_POLICY_FIELDS = [
  'plan',
  'maxStreams',
  'countBy',
  'onLimit',
  'maxDownloads',
] as const;
/** Rollout and fairness controls an override may set too (docs/admin-api.md). */
const OVERRIDE_CONTROL_FIELDS = [
  'enforcement',
  'evictionGraceSeconds',
  'maxStreamsPerContent',
  'maxDevices',
] as const;
const OVERRIDE_FIELDS = new Set<string>([
  ...OVERRIDE_POLICY_FIELDS,
  ...OVERRIDE_CONTROL_FIELDS,
  'expiresAt',
]);
const INTEGER_FIELDS = {
  maxStreams: [0, 100],
  maxDownloads: [0, 1000],
  evictionGraceSeconds: [0, 86400],
  maxStreamsPerContent: [1, 100],
  maxDevices: [1, 100],
} as const;
/** A date-time with a zone (Z or ±hh:mm): an override's end must not depend on a host's zone. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Path ids follow the heartbeat's rules (README), so an admin can name any stored user. */
export function assertIds(ids: { userId: string; sessionId?: string; deviceId?: string }): void {
  const problems = [idProblem('userId', ids.userId, USER_ID_MAX)];
  if (ids.sessionId !== undefined) problems.push(idProblem('sessionId', ids.sessionId, ID_MAX));
  if (ids.deviceId !== undefined) problems.push(idProblem('deviceId', ids.deviceId, ID_MAX));
  const named = problems.filter((p): p is string => p !== undefined);
  if (named.length) throw invalidRequest(named);
}

export interface OverrideCheck {
  isKnownPlan: (name: string) => boolean;
  /** The Redis server's clock (ms), needed only when the body has an expiresAt. */
  now?: number;
}

/** Whether validating this body needs the Redis clock (it has an expiresAt to compare). */
export function needsClock(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'expiresAt' in body;
}

/**
 * Validates a PUT /v1/users/{userId}/override body, naming every bad field: any of plan (a known
 * plan), maxStreams (0-100), countBy, onLimit, maxDownloads (0-1000), enforcement, evictionGraceSeconds (0-86400),
 * maxStreamsPerContent (1-100), maxDevices (1-100), at least one of them; optional expiresAt (ISO 8601
 * with a zone, in the future by the Redis clock). Unknown fields are rejected.
 */
export function validateOverride(
  body: unknown,
  check: OverrideCheck,
): { override?: Override; problems: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problems: ['body: must be a JSON object'] };
  }
  const input = body as Record<string, unknown>;
  const problems: string[] = [];
  const override: Override = {};
  for (const key of Object.keys(input)) {
    if (!OVERRIDE_FIELDS.has(key)) problems.push(`${key}: unknown field`);
  }
  if (
    [...OVERRIDE_POLICY_FIELDS, ...OVERRIDE_CONTROL_FIELDS].every((f) => input[f] === undefined)
  ) {
    problems.push(`body: at least one of ${OVERRIDE_POLICY_FIELDS.join(', ')} is required`);
  }
  if (input.plan !== undefined) {
    if (typeof input.plan === 'string' && check.isKnownPlan(input.plan)) override.plan = input.plan;
    else problems.push(`plan: ${JSON.stringify(input.plan)} is not a known plan`);
  }
  for (const [field, [min, max]] of Object.entries(INTEGER_FIELDS)) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) {
      override[field as keyof typeof INTEGER_FIELDS] = value;
    } else {
      problems.push(`${field}: must be an integer from ${min} to ${max}`);
    }
  }
  const enumField = <F extends 'countBy' | 'onLimit' | 'enforcement'>(
    field: F,
    allowed: readonly NonNullable<Override[F]>[],
  ) => {
    const value = input[field];
    if (value === undefined) return;
    const found = allowed.find((a) => a === value);
    if (found !== undefined) override[field] = found;
    else problems.push(`${field}: must be one of ${allowed.join(', ')}`);
  };
  enumField('countBy', COUNT_BY);
  enumField('onLimit', ON_LIMIT);
  enumField('enforcement', ENFORCEMENT);
  if (input.expiresAt !== undefined) {
    const value = input.expiresAt;
    const ms = typeof value === 'string' && ISO_DATE_TIME.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms)) {
      problems.push(
        'expiresAt: must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T18:00:00Z',
      );
    } else if (check.now === undefined || ms <= check.now) {
      problems.push('expiresAt: must be in the future');
    } else {
      override.expiresAt = ms;
    }
  }
  return problems.length ? { problems } : { override, problems };
}
