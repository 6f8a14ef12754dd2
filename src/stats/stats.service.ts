import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { RedisConnections } from '../redis/redis.module';
import { StatsStore } from './stats-store';
import { StatsView, statsView } from './stats-view';

/** GET /v1/stats: the window's buckets (one pipelined read), plans and live slots now. */
@Injectable()
export class StatsService {
  private readonly store: StatsStore;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    redis: RedisConnections,
    private readonly metrics: MetricsService,
    private readonly plans: PlanRegistry,
  ) {
    this.store = new StatsStore(redis.control, config.keyPrefix);
  }

  async stats(): Promise<StatsView> {
    const now = await this.store.now();
    const buckets = await this.store.read(now);
    // usher_active_slots is the cluster-wide count (same on every instance).
    const slots = new Map<string, number>();
    for (const { labels, value } of (await this.metrics.activeSlots.get()).values) {
      if (typeof labels.plan === 'string') slots.set(labels.plan, value);
    }
    return statsView(buckets, this.plans.effective(), slots, now);
  }
}
