import { CloneType, Static, Type } from '@sinclair/typebox';
import { ID_MAX, ID_PATTERN, USER_ID_MAX } from '../common/ids';
import { COUNT_BY, CountBy } from '../config/plan';
import { DeviceView } from '../sessions/device-view';
import { Drm, DRMS } from '../common/drm';
import { Reason } from '../sessions/session-types';
import { SessionView } from '../sessions/session-view';
import { LICENSE_TYPES, LicensePolicy } from './license-policy';

/*
 * The heartbeat contract (POST /v1/heartbeats), written once as JSON Schema. From it come the
 * route's body validator (Ajv, heartbeat-request.ts), its 200 serializer (fast-json-stringify,
 * heartbeat.route.ts), the TypeScript types below, and the schemas of /docs-json
 * (heartbeat.openapi.ts). OpenAPI 3.0 is the common ground: `enum` rather than `const`/`anyOf`,
 * `nullable` rather than a type list, `example` as an annotation.
 */

export const MESSAGE_TYPES = ['license-request', 'license-renewal', 'license-release'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const DECISIONS = ['allow', 'deny'] as const;
/** What the store decides; an answer's reason may also be degraded (the store did not answer). */
export const DECIDED_REASONS = [
  'admitted',
  'renewed',
  'released',
  'limit_exceeded',
  'session_revoked',
  'download_limit_exceeded',
  'content_limit_exceeded',
  'device_limit_exceeded',
] as const;
export const REASONS = [...DECIDED_REASONS, 'degraded'] as const;

type Annotations = { description?: string; example?: unknown; default?: unknown };

/** A string out of a fixed list, as a plain `enum` (clearer errors and docs than a union). */
function StringEnum<T extends readonly string[]>(values: T, options: Annotations = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** An id: URL-safe printable characters (src/common/ids.ts). */
function Id(options: Annotations & { maxLength?: number } = {}) {
  return Type.String({ pattern: ID_PATTERN.source, minLength: 1, maxLength: ID_MAX, ...options });
}

function NullableString(options: Annotations = {}) {
  return Type.Unsafe<string | null>({ type: 'string', nullable: true, ...options });
}

export const HeartbeatRequestSchema = Type.Object(
  {
    userId: Id({
      maxLength: USER_ID_MAX,
      example: 'user-42',
      description: 'The subscriber whose streams are limited',
    }),
    drm: StringEnum(DRMS, { example: 'widevine' }),
    messageType: StringEnum(MESSAGE_TYPES, {
      example: 'license-renewal',
      description: 'The EME message type. license-request and license-renewal are decided alike.',
    }),
    sessionId: Type.Optional(Id({ description: "The DRM's own session id (Widevine, FairPlay)" })),
    customSessionId: Type.Optional(
      Id({
        description: 'A session id from the entitlement service; wins over sessionId for every DRM',
      }),
    ),
    deviceId: Type.Optional(
      Id({
        example: 'device-7f3a',
        description:
          'Stable, app-supplied device id. Required when no session id is given (PlayReady: the id is synthesized from userId, deviceId, contentId), and on license-request and license-renewal when the plan counts by device or caps devices (maxDevices).',
      }),
    ),
    contentId: Type.Optional(
      Id({
        example: 'movie-123',
        description:
          'The title played; what maxStreamsPerContent and handoff compare (a request without it is limited by neither)',
      }),
    ),
    plan: Type.Optional(
      Type.String({
        example: 'family',
        description: "A known plan name; otherwise the user's override plan, else the default plan",
      }),
    ),
    licenseType: Type.Optional(
      StringEnum(LICENSE_TYPES, {
        default: 'streaming',
        description:
          "persistent: a download (offline, rental), counted against the plan's maxDownloads apart from streams",
      }),
    ),
    takeoverSessionId: Type.Optional(
      Id({
        example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA',
        description:
          "Takeover, on license-request only: a live session of the same user (e.g. picked by the user from a deny's conflicts) that is revoked first (cause takeover, listed in evicted); the new session is then decided as usual. Any other value (unknown, lapsed, another user's) changes nothing.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Besides the schema: plan must name a known plan, and deviceId is required when neither customSessionId nor sessionId is given.',
  },
);
export type HeartbeatRequest = Static<typeof HeartbeatRequestSchema>;

export const LicensePolicySchema = Type.Object({
  canRenew: Type.Boolean({ example: true }),
  canPersist: Type.Boolean({ example: false }),
  licenseDurationSeconds: Type.Integer({
    example: 90,
    description: 'Streaming: interval + grace; persistent: downloadDays',
  }),
  playbackDurationSeconds: Type.Integer({
    example: 0,
    description: '0 = unlimited; persistent: downloadPlaybackHours',
  }),
  renewalDelaySeconds: Type.Integer({ example: 60 }),
  renewalRetryIntervalSeconds: Type.Integer({
    example: 10,
    description: 'grace ÷ 3, at least 1 (0 when grace is 0)',
  }),
  renewalRecoveryDurationSeconds: Type.Integer({ example: 30 }),
});

export const SessionViewSchema = Type.Object({
  sessionId: Type.String(),
  deviceId: NullableString(),
  drm: StringEnum(DRMS),
  contentId: NullableString(),
  startedAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
});

export const ShadowVerdictSchema = Type.Object({
  decision: StringEnum(DECISIONS, { example: 'deny' }),
  reason: StringEnum(DECIDED_REASONS, {
    example: 'limit_exceeded',
    description: 'The reason enforcement would give',
  }),
  evicted: Type.Array(SessionViewSchema, {
    description: 'What enforcement would have revoked (nothing was)',
  }),
});

export const DeviceViewSchema = Type.Object({
  deviceId: Type.String({ example: 'device-7f3a' }),
  firstSeenAt: Type.String({ format: 'date-time', example: '2030-01-02T18:00:00.000Z' }),
  lastSeenAt: Type.String({ format: 'date-time', example: '2030-01-31T18:14:00.000Z' }),
});

export const HeartbeatResponseSchema = Type.Object({
  decision: StringEnum(DECISIONS),
  reason: StringEnum(REASONS),
  sessionId: Type.String({
    example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA',
    description: 'The effective session id',
  }),
  plan: Type.String({ example: 'family' }),
  countBy: StringEnum(COUNT_BY),
  activeStreams: Type.Integer({ description: 'Live slots after this decision' }),
  maxStreams: Type.Integer(),
  renewAfterSeconds: Type.Integer({
    description: 'Renewal cadence to put in the license (e.g. Widevine renewal_delay_seconds)',
  }),
  expiresInSeconds: Type.Integer({
    description: 'How long the slot lives without another heartbeat (0 on deny/release)',
  }),
  evicted: Type.Array(SessionViewSchema, {
    description:
      'Sessions this decision revoked: a takeover (first), then evict-oldest or handoff evictions',
  }),
  conflicts: Type.Array(SessionViewSchema, {
    description:
      'On limit_exceeded: the live sessions in the way; on content_limit_exceeded: the live sessions on that contentId; on download_limit_exceeded: the downloads',
  }),
  license: Type.Optional(
    CloneType(LicensePolicySchema, {
      description: 'On allow: the policy to put into the licence (see the README mapping per DRM)',
    }),
  ),
  shadow: Type.Optional(
    CloneType(ShadowVerdictSchema, {
      example: { decision: 'deny', reason: 'limit_exceeded', evicted: [] },
      description:
        'On every answer of a shadow plan (enforcement shadow): what enforcement would have answered. The answer itself allows.',
    }),
  ),
  devices: Type.Optional(
    Type.Array(DeviceViewSchema, {
      description: 'On device_limit_exceeded: the devices registered within the window',
    }),
  ),
});
export type HeartbeatResponse = Static<typeof HeartbeatResponseSchema>;

export const ErrorResponseSchema = Type.Object({
  statusCode: Type.Integer({ example: 400 }),
  error: Type.String({ example: 'Bad Request' }),
  message: Type.String({
    example: 'drm: must be one of widevine, playready, fairplay, clearkey',
  }),
  problems: Type.Optional(
    Type.Array(Type.String(), { description: 'Every problem, one per invalid field' }),
  ),
});

/*
 * The serializer writes only what the schema names: a field added to one of these interfaces
 * (or a reason added to the store) but not to the schema would vanish from the answer. These
 * fail the build instead.
 */
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? true
    : false
  : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractChecks: {
  license: SameKeys<LicensePolicy, Static<typeof LicensePolicySchema>>;
  session: SameKeys<SessionView, Static<typeof SessionViewSchema>>;
  device: SameKeys<DeviceView, Static<typeof DeviceViewSchema>>;
  reasons: Same<Reason, (typeof REASONS)[number]>;
  drms: Same<Drm, Static<typeof SessionViewSchema>['drm']>;
  countBy: Same<CountBy, HeartbeatResponse['countBy']>;
} = { license: true, session: true, device: true, reasons: true, drms: true, countBy: true };
void contractChecks;
