import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ID_MAX, ID_PATTERN, USER_ID_MAX } from '../common/ids';
import { DRMS } from '../sessions/session-identity';
import { MESSAGE_TYPES } from './heartbeat.schema';
import { LICENSE_TYPES } from './license-policy';

const ID = { pattern: ID_PATTERN.source, minLength: 1, maxLength: ID_MAX };

/** OpenAPI description of POST /v1/heartbeats; validation itself is validateHeartbeat. */
export class HeartbeatRequestDto {
  @ApiProperty({
    ...ID,
    maxLength: USER_ID_MAX,
    example: 'user-42',
    description: 'The subscriber whose streams are limited',
  })
  userId!: string;

  @ApiProperty({ enum: DRMS, example: 'widevine' })
  drm!: string;

  @ApiProperty({
    enum: MESSAGE_TYPES,
    example: 'license-renewal',
    description: 'The EME message type. license-request and license-renewal are decided alike.',
  })
  messageType!: string;

  @ApiPropertyOptional({ ...ID, description: "The DRM's own session id (Widevine, FairPlay)" })
  sessionId?: string;

  @ApiPropertyOptional({
    ...ID,
    description: 'A session id from the entitlement service; wins over sessionId for every DRM',
  })
  customSessionId?: string;

  @ApiPropertyOptional({
    ...ID,
    example: 'device-7f3a',
    description:
      'Stable, app-supplied device id. Required when no session id is given (PlayReady: the id is synthesized from userId, deviceId, contentId), and on license-request and license-renewal when the plan counts by device or caps devices (maxDevices).',
  })
  deviceId?: string;

  @ApiPropertyOptional({
    ...ID,
    example: 'movie-123',
    description:
      'The title played; what maxStreamsPerContent and handoff compare (a request without it is limited by neither)',
  })
  contentId?: string;

  @ApiPropertyOptional({
    example: 'family',
    description: "A known plan name; otherwise the user's override plan, else the default plan",
  })
  plan?: string;

  @ApiPropertyOptional({
    enum: LICENSE_TYPES,
    default: 'streaming',
    description:
      "persistent: a download (offline, rental), counted against the plan's maxDownloads apart from streams",
  })
  licenseType?: string;

  @ApiPropertyOptional({
    ...ID,
    example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA',
    description:
      "Takeover, on license-request only: a live session of the same user (e.g. picked by the user from a deny's conflicts) that is revoked first (cause takeover, listed in evicted); the new session is then decided as usual. Any other value (unknown, lapsed, another user's) changes nothing.",
  })
  takeoverSessionId?: string;
}

export class LicensePolicyDto {
  @ApiProperty({ example: true }) canRenew!: boolean;
  @ApiProperty({ example: false }) canPersist!: boolean;
  @ApiProperty({
    example: 90,
    description: 'Streaming: interval + grace; persistent: downloadDays',
  })
  licenseDurationSeconds!: number;
  @ApiProperty({ example: 0, description: '0 = unlimited; persistent: downloadPlaybackHours' })
  playbackDurationSeconds!: number;
  @ApiProperty({ example: 60 }) renewalDelaySeconds!: number;
  @ApiProperty({ example: 10, description: 'grace ÷ 3, at least 1 (0 when grace is 0)' })
  renewalRetryIntervalSeconds!: number;
  @ApiProperty({ example: 30 }) renewalRecoveryDurationSeconds!: number;
}

export class SessionViewDto {
  @ApiProperty() sessionId!: string;
  @ApiProperty({ nullable: true, type: String }) deviceId!: string | null;
  @ApiProperty({ enum: DRMS }) drm!: string;
  @ApiProperty({ nullable: true, type: String }) contentId!: string | null;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
}

export class ShadowVerdictDto {
  @ApiProperty({ enum: ['allow', 'deny'], example: 'deny' }) decision!: string;
  @ApiProperty({ example: 'limit_exceeded', description: 'The reason enforcement would give' })
  reason!: string;
  @ApiProperty({
    type: [SessionViewDto],
    description: 'What enforcement would have revoked (nothing was)',
  })
  evicted!: SessionViewDto[];
}

export class DeviceViewDto {
  @ApiProperty({ example: 'device-7f3a' }) deviceId!: string;
  @ApiProperty({ format: 'date-time', example: '2030-01-02T18:00:00.000Z' }) firstSeenAt!: string;
  @ApiProperty({ format: 'date-time', example: '2030-01-31T18:14:00.000Z' }) lastSeenAt!: string;
}

export class HeartbeatResponseDto {
  @ApiProperty({ enum: ['allow', 'deny'] }) decision!: string;
  @ApiProperty({
    enum: [
      'admitted',
      'renewed',
      'released',
      'limit_exceeded',
      'session_revoked',
      'download_limit_exceeded',
      'content_limit_exceeded',
      'device_limit_exceeded',
      'degraded',
    ],
  })
  reason!: string;
  @ApiProperty({ example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA', description: 'The effective session id' })
  sessionId!: string;
  @ApiProperty({ example: 'family' }) plan!: string;
  @ApiProperty({ enum: ['session', 'device'] }) countBy!: string;
  @ApiProperty({ description: 'Live slots after this decision' }) activeStreams!: number;
  @ApiProperty() maxStreams!: number;
  @ApiProperty({
    description: 'Renewal cadence to put in the license (e.g. Widevine renewal_delay_seconds)',
  })
  renewAfterSeconds!: number;
  @ApiProperty({
    description: 'How long the slot lives without another heartbeat (0 on deny/release)',
  })
  expiresInSeconds!: number;
  @ApiProperty({
    type: [SessionViewDto],
    description:
      'Sessions this decision revoked: a takeover (first), then evict-oldest or handoff evictions',
  })
  evicted!: SessionViewDto[];
  @ApiProperty({
    type: [SessionViewDto],
    description:
      'On limit_exceeded: the live sessions in the way; on content_limit_exceeded: the live sessions on that contentId; on download_limit_exceeded: the downloads',
  })
  conflicts!: SessionViewDto[];
  @ApiPropertyOptional({
    type: ShadowVerdictDto,
    example: { decision: 'deny', reason: 'limit_exceeded', evicted: [] },
    description:
      'On every answer of a shadow plan (enforcement shadow): what enforcement would have answered. The answer itself allows.',
  })
  shadow?: ShadowVerdictDto;
  @ApiPropertyOptional({
    type: [DeviceViewDto],
    description: 'On device_limit_exceeded: the devices registered within the window',
  })
  devices?: DeviceViewDto[];
  @ApiPropertyOptional({
    type: LicensePolicyDto,
    description: 'On allow: the policy to put into the licence (see the README mapping per DRM)',
  })
  license?: LicensePolicyDto;
}

export class ErrorResponseDto {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'drm: must be one of widevine, playready, fairplay, clearkey' })
  message!: string;
  @ApiPropertyOptional({ type: [String], description: 'Every problem, one per invalid field' })
  problems?: string[];
}
