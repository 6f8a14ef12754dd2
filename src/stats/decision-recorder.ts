import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { withDeadline } from '../redis/redis-connection';
import { statsField } from './stats-fields';
import { StatsStore } from './stats-store';

/** How often each instance adds what it counted to the current bucket. */
export const FLUSH_MS = 5000;
/** The last report at shutdown may not hold up the exit longer than this (Redis may be away). */
const SHUTDOWN_FLUSH_MS = 500;

type Labels = Partial<Record<string, string | number>>;

/**
 * Feeds the console's overview without any Redis work per heartbeat: the heartbeat path already
 * counts in memory (usher_heartbeats_total and friends); every FLUSH_MS this reads those counters,
 * and adds what grew since the last flush to the current bucket (StatsStore), in one pipeline,
 * with the plans' live slots and limits as they are now. A flush that fails keeps its counts for
 * the next one.
 */
@Injectable()
export class DecisionRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('ConsoleStats');
  /** Counter totals as of the last successful flush, by bucket field. */
  private flushed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private failing = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StatsStore,
    private readonly metrics: MetricsService,
    private readonly plans: PlanRegistry,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await withDeadline(this.flush(), SHUTDOWN_FLUSH_MS).catch(() => undefined);
  }

  /**
   * Adds the counts since the last flush to the current bucket; never throws. Flushes run one
   * after another: one asked for while another runs starts after it, so it sees every count
   * made before it was asked for.
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    try {
      const totals = await this.totals();
      const add: Record<string, number> = {};
      for (const [field, total] of totals) {
        const before = this.flushed.get(field) ?? 0;
        // A counter that went down was reset: all of it is new.
        const grown = total >= before ? total - before : total;
        if (grown > 0) add[field] = grown;
      }
      // An instance that answered nothing since its last report has nothing to say: an idle
      // deployment writes nothing (the live slots then come from the instances that answer).
      if (!Object.keys(add).length) {
        this.flushed = totals;
        return;
      }
      const set: Record<string, number> = {};
      for (const plan of this.plans.effective())
        set[statsField.maxStreams(plan.name)] = plan.maxStreams;
      for (const { labels, value } of await this.values('usher_active_slots')) {
        if (typeof labels.plan === 'string') set[statsField.activeSlots(labels.plan)] = value;
      }
      await this.store.write(await this.store.now(), { add, set });
      this.flushed = totals;
      if (this.failing) this.logger.log('recording console stats again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`cannot record console stats: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /** Current totals of the counters the overview shows, keyed by their bucket field. */
  private async totals(): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    const sum = (field: string, value: number) =>
      totals.set(field, (totals.get(field) ?? 0) + value);
    for (const { labels, value } of await this.values('usher_heartbeats_total')) {
      const { plan, decision, reason } = labels;
      if (plan !== undefined && decision !== undefined && reason !== undefined) {
        sum(statsField.decision(String(plan), String(decision), String(reason)), value);
      }
    }
    // Counted once the rollout controls exist; absent, there is nothing to add.
    for (const { labels, value } of await this.values('usher_shadow_denials_total')) {
      if (labels.plan !== undefined && labels.reason !== undefined) {
        sum(statsField.shadow(String(labels.plan), String(labels.reason)), value);
      }
    }
    for (const { labels, value } of await this.values('usher_degraded_decisions_total')) {
      if (labels.fail_mode !== undefined) sum(statsField.degraded(String(labels.fail_mode)), value);
    }
    return totals;
  }

  private async values(name: string): Promise<{ labels: Labels; value: number }[]> {
    const metric = this.metrics.registry.getSingleMetric(name);
    if (!metric) return [];
    return (await metric.get()).values;
  }
}
