import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { HeartbeatCounts } from './heartbeat-counts';
import { LatencyHistogram } from './latency-histogram';

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds; resolves 0.2 ms (a fast Redis round trip) up to 1 s (far past any timeout). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

export interface PlanLimit {
  plan: string;
  maxStreams: number;
}

/**
 * usher's metrics (docs/metrics.md) on a registry of its own, so many apps can live in one process.
 * Label values are bounded: never a user, session, device or content id.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private planLimits: () => PlanLimit[] = () => [];

  private readonly heartbeatCounts = new HeartbeatCounts();

  readonly heartbeats = new Counter({
    name: 'usher_heartbeats_total',
    help: 'Heartbeats answered, by decision and reason',
    labelNames: ['decision', 'reason', 'drm', 'message_type', 'plan'] as const,
    registers: [this.registry],
    collect: () => {
      this.heartbeats.reset();
      for (const { labels, count } of this.heartbeatCounts.cells()) {
        this.heartbeats.inc(labels, count);
      }
    },
  });

  // Observed on every heartbeat, twice: cells resolved once per label value (LatencyHistogram).
  private readonly heartbeatDuration = new LatencyHistogram(
    'usher_heartbeat_duration_seconds',
    'Time to decide a heartbeat, from validated request to response',
    'decision',
    LATENCY_BUCKETS_SECONDS,
    this.registry,
  );

  private readonly storeDuration = new LatencyHistogram(
    'usher_store_duration_seconds',
    'Time of one store (Redis) operation',
    'operation',
    LATENCY_BUCKETS_SECONDS,
    this.registry,
  );

  readonly storeErrors = new Counter({
    name: 'usher_store_errors_total',
    help: 'Store operations that failed, by kind (timeout, connection, script)',
    labelNames: ['operation', 'kind'] as const,
    registers: [this.registry],
  });

  readonly degradedDecisions = new Counter({
    name: 'usher_degraded_decisions_total',
    help: 'Heartbeats answered without the store (allow degraded, or 503 when closed)',
    labelNames: ['fail_mode'] as const,
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: 'usher_evictions_total',
    help: 'Slots or sessions ended by usher: evict_oldest, terminated (admin), limit_lowered, takeover, handoff',
    labelNames: ['plan', 'cause'] as const,
    registers: [this.registry],
  });

  readonly shadowDenials = new Counter({
    name: 'usher_shadow_denials_total',
    help: 'Heartbeats of a shadow plan that enforcement would have denied (answered allow)',
    labelNames: ['plan', 'reason'] as const,
    registers: [this.registry],
  });

  readonly downloads = new Counter({
    name: 'usher_downloads_total',
    help: 'Persistent licences (downloads) decided: admitted, reissued, denied, returned, ended (admin)',
    labelNames: ['plan', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly activeSlots = new Gauge({
    name: 'usher_active_slots',
    help: 'Live slots per plan across the whole deployment (same value on every instance)',
    labelNames: ['plan'] as const,
    registers: [this.registry],
  });

  readonly planMaxStreams = new Gauge({
    name: 'usher_plan_max_streams',
    help: 'maxStreams of each effective plan',
    labelNames: ['plan'] as const,
    registers: [this.registry],
    collect: () => {
      this.planMaxStreams.reset();
      for (const { plan, maxStreams } of this.planLimits()) {
        this.planMaxStreams.set({ plan }, maxStreams);
      }
    },
  });

  private readonly heartbeatDurationBy = {
    allow: this.heartbeatDuration.cell('allow'),
    deny: this.heartbeatDuration.cell('deny'),
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered heartbeat in usher_heartbeats_total. */
  countHeartbeat(
    decision: string,
    reason: string,
    drm: string,
    messageType: string,
    plan: string,
  ): void {
    this.heartbeatCounts.count(decision, reason, drm, messageType, plan);
  }

  /** Records a heartbeat decided since `started` (a process.hrtime.bigint() reading). */
  observeHeartbeat(decision: 'allow' | 'deny', started: bigint): void {
    this.heartbeatDurationBy[decision].observe(secondsSince(started));
  }

  /** Records a store operation that began at `started` (a process.hrtime.bigint() reading). */
  observeStore(operation: string, started: bigint): void {
    this.storeDuration.cell(operation).observe(secondsSince(started));
  }

  /** The plans module tells the gauge where current limits come from; read at scrape time. */
  setPlanLimitsSource(source: () => PlanLimit[]): void {
    this.planLimits = source;
  }
}
