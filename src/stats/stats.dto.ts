import { ApiProperty } from '@nestjs/swagger';

/* OpenAPI description of GET /v1/stats (the console's overview). */

const REASONS_EXAMPLE = { admitted: 120, renewed: 3400, limit_exceeded: 12 };

export class PlanStatsSeriesDto {
  @ApiProperty({ type: [Number], nullable: true, description: 'Live slots per bucket' })
  activeSlots!: (number | null)[];
  @ApiProperty({ type: [Number], nullable: true, description: 'maxStreams per bucket' })
  maxStreams!: (number | null)[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'number' } },
    example: { renewed: [3.1, 2.9], admitted: [0.2, 0.1] },
    description: 'Decisions per second by reason, one value per bucket',
  })
  perSecond!: Record<string, number[]>;
  @ApiProperty({ type: [Number], nullable: true, description: 'Deny ratio (0-1) per bucket' })
  denyRatio!: (number | null)[];
}

export class PlanStatsDto {
  @ApiProperty({ example: 'premium' }) plan!: string;
  @ApiProperty({ enum: ['file', 'api'], example: 'file' }) source!: string;
  @ApiProperty({ type: 'integer', example: 4 }) maxStreams!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 812,
    description:
      'Live slots across every instance (usher_active_slots); null before the first count',
  })
  activeSlots!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: REASONS_EXAMPLE,
    description: 'Answers in the window by reason',
  })
  decisions!: Record<string, number>;
  @ApiProperty({
    type: 'number',
    nullable: true,
    example: 0.003,
    description: 'Denials over allow and deny answers in the window (releases left out)',
  })
  denyRatio!: number | null;
  @ApiProperty({ type: 'integer', example: 0, description: 'Degraded answers in the window' })
  degraded!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'Shadow denials in the window' })
  shadowDenials!: number;
  @ApiProperty({ type: PlanStatsSeriesDto }) series!: PlanStatsSeriesDto;
}

export class StatsDto {
  @ApiProperty({ format: 'date-time', description: 'By the Redis clock' }) generatedAt!: string;
  @ApiProperty({ type: 'integer', example: 900 }) windowSeconds!: number;
  @ApiProperty({ type: 'integer', example: 10 }) bucketSeconds!: number;
  @ApiProperty({
    type: [Number],
    description: 'Bucket starts (Unix seconds), oldest first; the last one is still filling',
  })
  timestamps!: number[];
  @ApiProperty({
    type: 'integer',
    example: 0,
    description: 'Degraded answers of every plan in the window, 503s of fail mode closed included',
  })
  degraded!: number;
  @ApiProperty({ type: [PlanStatsDto] }) plans!: PlanStatsDto[];
}
