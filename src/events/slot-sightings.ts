import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RedisConnections } from '../redis/redis.module';
import { HeartbeatInput, StoreDecision } from '../sessions/session-store';
import { activeSlotsKeys, sightingBucket, slotHash } from './active-slots-layout';

/** Elements per PFADD command. */
const PFADD_CHUNK = 1000;
/** Sightings held between flushes at most; past it new ones wait for the next flush's room. */
const MAX_PENDING_SIGHTINGS = 500_000;

/** How often sightings go to Redis and snapshots are read: a third of the job's interval, ≤ 5 s. */
export function activeSlotsRefreshMs(config: AppConfig): number {
  return Math.min(5000, Math.floor(config.activeSlotsIntervalMs / 3));
}

interface PlanSightings {
  windowSeconds: number;
  slots: Set<number>;
}

/**
 * The write side of usher_active_slots: remembers, in memory, which slots this instance allowed
 * (admitted or renewed) per plan, and every few seconds adds them to the plan's HyperLogLog of
 * the current time bucket. The heartbeat path only does a Set.add; Redis sees one batch per flush.
 */
@Injectable()
export class SlotSightings implements OnModuleInit, OnApplicationShutdown {
  private pending = new Map<string, PlanSightings>();
  private size = 0;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly keys: ReturnType<typeof activeSlotsKeys>;
  private readonly flushMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisConnections,
  ) {
    this.keys = activeSlotsKeys(config.keyPrefix);
    this.flushMs = activeSlotsRefreshMs(config);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Last flush while the sessions' Redis is still open (it closes after this module). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  /** Called for every decided heartbeat; never throws, never waits. */
  sighted(input: HeartbeatInput, d: StoreDecision): void {
    if (d.decision !== 'allow' || (d.reason !== 'admitted' && d.reason !== 'renewed')) return;
    if (this.size >= MAX_PENDING_SIGHTINGS) return;
    let plan = this.pending.get(d.plan);
    if (!plan) {
      plan = { windowSeconds: d.renewalIntervalSeconds + d.graceSeconds, slots: new Set() };
      this.pending.set(d.plan, plan);
    }
    const before = plan.slots.size;
    plan.slots.add(slotHash(input.userId, d.countBy, input.sessionId, input.deviceId));
    this.size += plan.slots.size - before;
  }

  /** Sends what was sighted since the last flush; a failed flush loses it (re-sighted at renewal). */
  flush(): Promise<void> {
    if (this.flushing || !this.size) return this.flushing ?? Promise.resolve();
    const pending = this.pending;
    this.pending = new Map();
    this.size = 0;
    this.flushing = this.write(pending)
      .catch(() => undefined)
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async write(pending: Map<string, PlanSightings>): Promise<void> {
    const control = this.redis.control;
    if (control.status !== 'ready') return;
    const [seconds] = await control.time();
    const writes: Promise<unknown>[] = [];
    for (const [plan, { windowSeconds, slots }] of pending) {
      const { width, bucket, ttlSeconds } = sightingBucket(windowSeconds, Number(seconds));
      const key = this.keys.bucket(plan, width, bucket);
      const ids = [...slots];
      for (let i = 0; i < ids.length; i += PFADD_CHUNK) {
        writes.push(control.pfadd(key, ...ids.slice(i, i + PFADD_CHUNK)));
      }
      writes.push(control.expire(key, ttlSeconds));
    }
    await Promise.all(writes);
  }
}
