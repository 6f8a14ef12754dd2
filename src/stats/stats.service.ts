import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { StatsStore } from './stats-store';
import { StatsView } from './stats-api';
import { statsView } from './stats-view';

/** GET /v1/stats: the window's buckets (one pipelined read), plans and live slots now. */
@Injectable()
export class StatsService {
  constructor(
    private readonly store: StatsStore,
    private readonly metrics: MetricsService,
    private readonly plans: PlanRegistry,
  ) {}

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
