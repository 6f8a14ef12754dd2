import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { parsePlan, Plan } from '../config/plan';
import { MetricsService } from '../metrics/metrics.service';
import { RedisClient, waitUntilReady } from '../redis/redis-connection';
import { PlanOverlaySnapshot, PlanStore } from './plan-store';

/** How long start-up waits for Redis to read the API plans before serving the file plans. */
const STARTUP_WAIT_MS = 5000;

export type PlanSource = 'file' | 'api';

export interface EffectivePlan extends Plan {
  source: PlanSource;
}

/**
 * The effective plans: the plans file as the baseline, API plans from Redis on top. Held in
 * memory so the hot path never reads them from Redis: `current` is the same map until the plans
 * change, so a user of it (the session store's encoded plan table) can rebuild only then.
 *
 * Change feed: every change is published on a pub/sub channel (applied within milliseconds), and
 * a periodic version check (planRefreshMs) catches any message that was lost, e.g. while the
 * subscriber was reconnecting.
 */
@Injectable()
export class PlanRegistry implements OnModuleInit, OnApplicationShutdown {
  readonly defaultPlanName: string;
  private readonly logger = new Logger('Plans');
  private readonly filePlans: Map<string, Plan>;
  private plans = new Map<string, EffectivePlan>();
  /** Version of the overlay in force; undefined until it was first read. */
  private version: string | null | undefined;
  /** Serializes overlay reads so an older read never overwrites a newer one. */
  private loading: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private subscriber?: RedisClient;
  private stopped = false;
  private readonly refreshMs: number;
  /** Started at construction so it overlaps RedisConnections' own start-up wait. */
  private readonly storeReady: Promise<Error | undefined>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    metrics: MetricsService,
    @Optional() private readonly store?: PlanStore,
  ) {
    this.defaultPlanName = config.plans.defaultPlan;
    this.refreshMs = config.planRefreshMs;
    this.filePlans = new Map(config.plans.plans.map((p) => [p.name, p]));
    this.replace([]);
    this.storeReady = store
      ? waitUntilReady(store.client, STARTUP_WAIT_MS).then(
          () => undefined,
          (err: Error) => err,
        )
      : Promise.resolve(undefined);
    metrics.setPlanLimitsSource(() =>
      [...this.plans.values()].map((p) => ({ plan: p.name, maxStreams: p.maxStreams })),
    );
  }

  /** Reads the API plans before the app serves, then follows their changes. */
  async onModuleInit(): Promise<void> {
    if (!this.store) return;
    this.subscriber = this.store.subscribe((version) => {
      if (version !== this.version) void this.refresh();
    });
    this.timer = setInterval(() => void this.checkVersion(), this.refreshMs);
    this.timer.unref();
    try {
      const notReady = await this.storeReady;
      if (notReady) throw notReady;
      await this.refresh();
    } catch (err) {
      this.logger.warn(
        `serving the file plans until the API plans can be read: ${(err as Error).message}`,
      );
    }
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.subscriber?.disconnect();
  }

  has(name: string): boolean {
    return this.plans.has(name);
  }

  /** Every effective plan with where it comes from (file or API), file order first. */
  effective(): EffectivePlan[] {
    return [...this.plans.values()];
  }

  /** One effective plan with where it comes from. */
  effectivePlan(name: string): EffectivePlan | undefined {
    return this.plans.get(name);
  }

  /** The plan a heartbeat falls back to when the store cannot say (degraded answers). */
  planFor(requested: string | undefined): Plan {
    return this.plans.get(requested ?? '') ?? (this.plans.get(this.defaultPlanName) as Plan);
  }

  /** The effective plans by name: the same map object until the plans change. */
  get current(): ReadonlyMap<string, Plan> {
    return this.plans;
  }

  /**
   * Re-reads the API plans and applies them. Calls queue behind each other, so after awaiting it
   * the registry reflects at least every change made before the call.
   */
  refresh(): Promise<void> {
    const next = this.loading.then(async () => {
      if (this.stopped || !this.store) return;
      this.apply(await this.store.load());
    });
    // A failed read must not block the next one; the caller still sees the failure.
    this.loading = next.catch(() => undefined);
    return next;
  }

  private async checkVersion(): Promise<void> {
    if (this.stopped || !this.store) return;
    try {
      if ((await this.store.version()) !== this.version) await this.refresh();
    } catch {
      // The store is unreachable: keep the plans in force and try again at the next tick.
    }
  }

  private apply(snapshot: PlanOverlaySnapshot): void {
    if (snapshot.version === this.version) return;
    const overlay: Plan[] = [];
    for (const [name, json] of snapshot.plans) {
      let body: unknown;
      try {
        body = JSON.parse(json);
      } catch {
        body = json;
      }
      const { plan, problems } = parsePlan(name, body, `plans.${name}`);
      if (plan) overlay.push(plan);
      else this.logger.error(`ignoring invalid API plan in Redis: ${problems.join('; ')}`);
    }
    this.replace(overlay);
    this.version = snapshot.version;
    this.logger.log(`plans version ${snapshot.version ?? 'none'}: ${overlay.length} API plan(s)`);
  }

  /** Rebuilds the effective plans from the file plans and the given API plans. */
  protected replace(overlay: Iterable<Plan>): void {
    const plans = new Map<string, EffectivePlan>();
    for (const p of this.filePlans.values()) plans.set(p.name, { ...p, source: 'file' });
    const added = [...overlay].sort((a, b) => a.name.localeCompare(b.name));
    for (const p of added) plans.set(p.name, { ...p, source: 'api' });
    this.plans = plans;
  }
}
