import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  CONTROL_DEFAULTS,
  COUNT_BY,
  DOWNLOAD_DEFAULTS,
  ENFORCEMENT,
  ON_LIMIT,
  PLAN_DEFAULTS,
} from '../config/plan';
import { DRMS } from '../common/drm';

/*
 * OpenAPI descriptions of the admin API. Validation itself is parsePlan (plans) and
 * validateOverride (overrides): hand-written so every bad field is named in one 400.
 */

export const USER_PARAM = {
  name: 'userId',
  example: 'user-42',
  description: '1-128 characters of A-Z a-z 0-9 . _ ~ : @ + = -',
};

export class PlanBodyDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 100,
    default: PLAN_DEFAULTS.maxStreams,
    example: 3,
    description: 'Live slots a user may hold',
  })
  maxStreams?: number;

  @ApiPropertyOptional({
    enum: COUNT_BY,
    default: PLAN_DEFAULTS.countBy,
    example: 'device',
    description: 'What one slot is: a session, or a device (all its sessions share one slot)',
  })
  countBy?: string;

  @ApiPropertyOptional({
    enum: ON_LIMIT,
    default: PLAN_DEFAULTS.onLimit,
    example: 'reject-new',
    description: 'At the limit: deny the new slot, or admit it and revoke the oldest',
  })
  onLimit?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 86400,
    default: PLAN_DEFAULTS.renewalIntervalSeconds,
    example: 60,
    description: 'Renewal cadence put in licenses (renewAfterSeconds)',
  })
  renewalIntervalSeconds?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 86400,
    default: PLAN_DEFAULTS.graceSeconds,
    example: 30,
    description: 'How long past the renewal interval a slot stays live without a heartbeat',
  })
  graceSeconds?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 1000,
    example: 5,
    description: 'Live downloads (persistent licences) a user may hold; absent: not counted',
  })
  maxDownloads?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 3650,
    default: DOWNLOAD_DEFAULTS.downloadDays,
    example: 30,
    description: 'How long a download lives after its first licence (licenseDurationSeconds)',
  })
  downloadDays?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 8760,
    default: DOWNLOAD_DEFAULTS.downloadPlaybackHours,
    example: 48,
    description: 'How long a download plays once playback starts (playbackDurationSeconds)',
  })
  downloadPlaybackHours?: number;

  @ApiPropertyOptional({
    enum: ENFORCEMENT,
    default: CONTROL_DEFAULTS.enforcement,
    example: 'shadow',
    description:
      "shadow: every decision is computed as under enforce and reported in the answer's `shadow`, but nothing is denied or revoked (usher_shadow_denials_total counts what would have been denied)",
  })
  enforcement?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 86400,
    default: CONTROL_DEFAULTS.evictionGraceSeconds,
    example: 120,
    description:
      'A slot that started less than this long ago is never evicted by evict-oldest or handoff (takeover ignores it)',
  })
  evictionGraceSeconds?: number;

  @ApiPropertyOptional({
    type: 'boolean',
    default: CONTROL_DEFAULTS.handoff,
    example: true,
    description:
      'At the limit, a new slot on the contentId of a live slot on another device replaces it (cause handoff), whatever onLimit says',
  })
  handoff?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    example: 1,
    description:
      'Live slots of one user on one contentId; over it: content_limit_exceeded (evict-oldest: the oldest on that content goes)',
  })
  maxStreamsPerContent?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100,
    example: 5,
    description:
      'Distinct deviceIds per user seen within deviceWindowHours; another device is denied device_limit_exceeded. deviceId is then required on every heartbeat',
  })
  maxDevices?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 8760,
    default: CONTROL_DEFAULTS.deviceWindowHours,
    example: 720,
    description: 'How long a device stays registered after it was last seen',
  })
  deviceWindowHours?: number;

  @ApiPropertyOptional({
    example: 'premium',
    description: 'Optional; if given it must equal the name in the path',
  })
  name?: string;
}

export class PlanDto {
  @ApiProperty({ example: 'premium', pattern: '^[A-Za-z0-9_-]{1,64}$' }) name!: string;
  @ApiProperty({ type: 'integer', example: 3 }) maxStreams!: number;
  @ApiProperty({ enum: COUNT_BY, example: 'device' }) countBy!: string;
  @ApiProperty({ enum: ON_LIMIT, example: 'reject-new' }) onLimit!: string;
  @ApiProperty({ type: 'integer', example: 60 }) renewalIntervalSeconds!: number;
  @ApiProperty({ type: 'integer', example: 30 }) graceSeconds!: number;
  @ApiPropertyOptional({ type: 'integer', example: 5 }) maxDownloads?: number;
  @ApiPropertyOptional({ type: 'integer', example: 30 }) downloadDays?: number;
  @ApiPropertyOptional({ type: 'integer', example: 48 }) downloadPlaybackHours?: number;
  @ApiPropertyOptional({ enum: ENFORCEMENT, example: 'shadow' }) enforcement?: string;
  @ApiPropertyOptional({ type: 'integer', example: 120 }) evictionGraceSeconds?: number;
  @ApiPropertyOptional({ type: 'boolean', example: true }) handoff?: boolean;
  @ApiPropertyOptional({ type: 'integer', example: 1 }) maxStreamsPerContent?: number;
  @ApiPropertyOptional({ type: 'integer', example: 5 }) maxDevices?: number;
  @ApiPropertyOptional({ type: 'integer', example: 720 }) deviceWindowHours?: number;
  @ApiProperty({
    enum: ['file', 'api'],
    example: 'api',
    description: 'file: the plans file; api: stored in Redis through this API (wins over the file)',
  })
  source!: string;
}

export class PlanListDto {
  @ApiProperty({ example: 'basic', description: 'The plan of users without plan or override' })
  defaultPlan!: string;
  @ApiProperty({ type: [PlanDto] }) plans!: PlanDto[];
}

export class OverrideBodyDto {
  @ApiPropertyOptional({ example: 'premium', description: 'A known plan name' })
  plan?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 100, example: 4 })
  maxStreams?: number;
  @ApiPropertyOptional({ enum: COUNT_BY, example: 'session' }) countBy?: string;
  @ApiPropertyOptional({ enum: ON_LIMIT, example: 'evict-oldest' }) onLimit?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 1000, example: 5 })
  maxDownloads?: number;
  @ApiPropertyOptional({ enum: ENFORCEMENT, example: 'shadow' }) enforcement?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 86400, example: 120 })
  evictionGraceSeconds?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, example: 1 })
  maxStreamsPerContent?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, example: 5 })
  maxDevices?: number;
  @ApiPropertyOptional({
    format: 'date-time',
    example: '2030-01-31T18:00:00Z',
    description: 'When the override stops applying (ISO 8601 with a zone; must be in the future)',
  })
  expiresAt?: string;
}

export class OverrideDto extends OverrideBodyDto {
  @ApiProperty({ example: 'user-42' }) userId!: string;
}

export class UserSessionDto {
  @ApiProperty({ example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA' }) sessionId!: string;
  @ApiProperty({ nullable: true, type: String, example: 'device-7f3a' }) deviceId!: string | null;
  @ApiProperty({ enum: DRMS, example: 'playready' }) drm!: string;
  @ApiProperty({ nullable: true, type: String, example: 'movie-123' }) contentId!: string | null;
  @ApiProperty({ format: 'date-time', example: '2030-01-31T18:00:00.000Z' }) startedAt!: string;
  @ApiProperty({ format: 'date-time', example: '2030-01-31T18:14:00.000Z' }) lastSeenAt!: string;
  @ApiProperty({
    format: 'date-time',
    example: '2030-01-31T18:15:30.000Z',
    description: 'When the session lapses without another heartbeat',
  })
  expiresAt!: string;
}

export class UserSessionsDto {
  @ApiProperty({ example: 'user-42' }) userId!: string;
  @ApiProperty({ example: 'family', description: 'The plan in force for this user' })
  plan!: string;
  @ApiProperty({ enum: COUNT_BY, example: 'device' }) countBy!: string;
  @ApiProperty({ type: 'integer', example: 4, description: 'After the override, if any' })
  maxStreams!: number;
  @ApiProperty({ type: 'integer', example: 1, description: 'Live slots' })
  activeStreams!: number;
  @ApiProperty({ type: [UserSessionDto], description: 'Live sessions, oldest slot first' })
  sessions!: UserSessionDto[];
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 2,
    description: 'Downloads the user may hold (after the override); null: downloads not counted',
  })
  maxDownloads!: number | null;
  @ApiProperty({
    type: [UserSessionDto],
    description: 'Live downloads, soonest to lapse first; expiresAt is when a download lapses',
  })
  downloads!: UserSessionDto[];
}

export class UserDeviceDto {
  @ApiProperty({ example: 'device-7f3a' }) deviceId!: string;
  @ApiProperty({ format: 'date-time', example: '2030-01-02T18:00:00.000Z' }) firstSeenAt!: string;
  @ApiProperty({ format: 'date-time', example: '2030-01-31T18:14:00.000Z' }) lastSeenAt!: string;
}

export class UserDevicesDto {
  @ApiProperty({ example: 'user-42' }) userId!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 5,
    description: 'The effective maxDevices (after the override); null: devices are not capped',
  })
  maxDevices!: number | null;
  @ApiProperty({ type: 'integer', example: 720 }) deviceWindowHours!: number;
  @ApiProperty({
    type: [UserDeviceDto],
    description: 'Devices registered within the window, most recently seen first',
  })
  devices!: UserDeviceDto[];
}

export class AdminErrorDto {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'maxStreams: must be an integer from 0 to 100' }) message!: string;
  @ApiPropertyOptional({
    type: [String],
    example: ['maxStreams: must be an integer from 0 to 100', 'colour: unknown field'],
    description: 'On 400: every problem, one per invalid field',
  })
  problems?: string[];
}
