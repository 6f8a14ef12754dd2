import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { RedisConnections } from '../redis/redis-connections';
import { activeSlotsKeys, windowBuckets } from './active-slots-layout';
import { PeriodicJobs } from '../events/periodic-jobs';
import { activeSlotsRefreshMs } from './slot-sightings';

export const ACTIVE_SLOTS_JOB = 'active-slots';
/** A snapshot outlives this many missed ticks, then the gauge shows nothing rather than old news. */
const SNAPSHOT_LIFETIME_TICKS = 6;

/**
 * usher_active_slots{plan}, the same on every instance (docs/metrics.md): a periodic job (one
 * instance per tick) counts each plan's live slots from the sightings' HyperLogLogs and writes
 * one snapshot hash; every instance copies that snapshot into its gauge every few seconds.
 */
@Injectable()
export class ActiveSlots implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ActiveSlots');
  private readonly keys: ReturnType<typeof activeSlotsKeys>;
  private readonly snapshotTtlSeconds: number;
  private readonly refreshMs: number;
  private timer?: NodeJS.Timeout;
  private computeFailing = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly redis: RedisConnections,
    private readonly plans: PlanRegistry,
    private readonly metrics: MetricsService,
    jobs: PeriodicJobs,
  ) {
    this.keys = activeSlotsKeys(config.keyPrefix);
    this.refreshMs = activeSlotsRefreshMs(config);
    this.snapshotTtlSeconds = Math.ceil(
      (SNAPSHOT_LIFETIME_TICKS * config.activeSlotsIntervalMs) / 1000,
    );
    jobs.register(ACTIVE_SLOTS_JOB, config.activeSlotsIntervalMs, () => this.compute());
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The periodic job: counts every plan's live slots and replaces the snapshot. */
  async compute(): Promise<Record<string, number>> {
    const control = this.redis.control;
    try {
      const [seconds] = await control.time();
      const now = Number(seconds);
      const counts: Record<string, number> = {};
      await Promise.all(
        this.plans.effective().map(async (plan) => {
          const window = plan.renewalIntervalSeconds + plan.graceSeconds;
          const { width, buckets } = windowBuckets(window, now);
          const keys = buckets.map((b) => this.keys.bucket(plan.name, width, b));
          counts[plan.name] = await control.pfcount(...keys);
        }),
      );
      const snapshot = this.keys.snapshot;
      const tx = control.multi().del(snapshot);
      if (Object.keys(counts).length) tx.hset(snapshot, counts);
      await tx.expire(snapshot, this.snapshotTtlSeconds).exec();
      if (this.computeFailing) this.logger.log('counting active slots again');
      this.computeFailing = false;
      return counts;
    } catch (err) {
      if (!this.computeFailing) {
        this.logger.warn(`cannot count active slots: ${(err as Error).message}`);
      }
      this.computeFailing = true;
      throw err;
    }
  }

  /** Copies the latest snapshot into the gauge; keeps the last values while Redis is away. */
  async refresh(): Promise<void> {
    let snapshot: Record<string, string>;
    try {
      snapshot = await this.redis.control.hgetall(this.keys.snapshot);
    } catch {
      return;
    }
    const gauge = this.metrics.activeSlots;
    gauge.reset();
    for (const [plan, value] of Object.entries(snapshot)) gauge.set({ plan }, Number(value));
  }
}
