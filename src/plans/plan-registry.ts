import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Plan } from '../config/plan';
import { MetricsService } from '../metrics/metrics.service';

/** "\n<name> <maxStreams> <countBy> <onLimit> <interval> <grace>" per plan, as lib.lua reads it. */
export function encodePlanTable(plans: Iterable<Plan>): string {
  let table = '\n';
  for (const p of plans) {
    table += `${p.name} ${p.maxStreams} ${p.countBy} ${p.onLimit} ${p.renewalIntervalSeconds} ${p.graceSeconds}\n`;
  }
  return table;
}

/**
 * The effective plans, held in memory so the hot path never reads them from Redis: the scripts
 * receive them as one encoded table argument, rebuilt only when the plans change.
 */
@Injectable()
export class PlanRegistry {
  readonly defaultPlanName: string;
  private plans = new Map<string, Plan>();
  private table = '\n';

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    this.defaultPlanName = config.plans.defaultPlan;
    this.replace(config.plans.plans);
    metrics.setPlanLimitsSource(() =>
      [...this.plans.values()].map((p) => ({ plan: p.name, maxStreams: p.maxStreams })),
    );
  }

  get(name: string): Plan | undefined {
    return this.plans.get(name);
  }

  has(name: string): boolean {
    return this.plans.has(name);
  }

  all(): Plan[] {
    return [...this.plans.values()];
  }

  /** The plan a heartbeat falls back to when the store cannot say (degraded answers). */
  planFor(requested: string | undefined): Plan {
    return this.plans.get(requested ?? '') ?? (this.plans.get(this.defaultPlanName) as Plan);
  }

  planTable(): string {
    return this.table;
  }

  protected replace(plans: Iterable<Plan>): void {
    this.plans = new Map([...plans].map((p) => [p.name, p]));
    this.table = encodePlanTable(this.plans.values());
  }
}
