import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RedisConnections } from '../redis/redis-connections';
import { HeartbeatInput, StoreDecision } from '../sessions/session-store';
import { activeSlotsKeys, sightingBucket, slotHash } from './active-slots-layout';

/** Elements per PFADD command: building one holds the event loop ~0.2 ms. */
const PFADD_CHUNK = 500;
/** Sightings held between flushes at most (repeats included); past it new ones are skipped. */
const MAX_PENDING_SIGHTINGS = 500_000;

/** How often sightings go to Redis and snapshots are read: a third of the job's interval, ≤ 5 s. */
export function activeSlotsRefreshMs(config: AppConfig): number {
  return Math.min(5000, Math.floor(config.activeSlotsIntervalMs / 3));
}

/**
 * Slot hashes in an Int32Array that grows to the busiest flush period's size and is then reused:
 * a Set of that size is reallocated as it grows, in large-object space that only a full
 * mark-compact frees (a ~30 ms stall every ~10 s at 5,000/s, docs/performance.md).
 * Repeats stay: a HyperLogLog counts an element once however often it is added.
 */
class HashList {
  hashes = new Int32Array(1024);
  length = 0;

  push(hash: number): void {
    if (this.length === this.hashes.length) {
      const grown = new Int32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.length++] = hash;
  }
}

interface PlanSightings {
  windowSeconds: number;
  slots: HashList;
}

/**
 * The write side of usher_active_slots: remembers, in memory, which slots this instance allowed
 * (admitted or renewed) per plan, and every few seconds adds them to the plan's HyperLogLog of
 * the current time bucket. The heartbeat path only appends a hash; Redis sees one batch per flush.
 */
@Injectable()
export class SlotSightings implements OnModuleInit, OnApplicationShutdown {
  private pending = new Map<string, PlanSightings>();
  /** The last flush's lists, emptied, for the next period. */
  private spare: HashList[] = [];
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
      const slots = this.spare.pop() ?? new HashList();
      plan = { windowSeconds: d.renewalIntervalSeconds + d.graceSeconds, slots };
      this.pending.set(d.plan, plan);
    }
    plan.slots.push(slotHash(input.userId, d.countBy, input.sessionId, input.deviceId));
    this.size++;
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
        for (const { slots } of pending.values()) {
          slots.length = 0;
          this.spare.push(slots);
        }
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async write(pending: Map<string, PlanSightings>): Promise<void> {
    const control = this.redis.control;
    if (control.status !== 'ready') return;
    const [seconds] = await control.time();
    // One PFADD at a time: building all of a period's commands at once (25,000 hashes at
    // 5,000/s) held the event loop 7-20 ms, and every heartbeat behind it waited.
    for (const [plan, { windowSeconds, slots }] of pending) {
      const { width, bucket, ttlSeconds } = sightingBucket(windowSeconds, Number(seconds));
      const key = this.keys.bucket(plan, width, bucket);
      for (let i = 0; i < slots.length; i += PFADD_CHUNK) {
        const chunk = slots.hashes.subarray(i, Math.min(i + PFADD_CHUNK, slots.length));
        await control.pfadd(key, ...Array.from(chunk));
      }
      await control.expire(key, ttlSeconds);
    }
  }
}
