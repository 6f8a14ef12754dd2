import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { Plan } from '../../src/config/plan';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PlanRegistry } from '../../src/plans/plan-registry';
import { encodePlanTable } from '../../src/sessions/plan-table';
import { PlanOverlaySnapshot, PlanStore } from '../../src/plans/plan-store';
import { RedisClient } from '../../src/redis/redis-connection';
import { plan } from '../support/plans';

/*
 * PlanRegistry over a fake plan source: the file plans as the baseline, API plans on top, kept
 * current by refresh() and the change feed. No Redis.
 */

/** What PlanRegistry uses of its PlanStore. */
type PlanSource = Pick<PlanStore, 'client' | 'load' | 'version' | 'subscribe'>;

class FakePlanSource implements PlanSource {
  /** waitUntilReady reads only the status. */
  readonly client = { status: 'ready' } as unknown as RedisClient;
  readonly subscriber = { disconnect: jest.fn() };
  loads = 0;
  failNextLoad?: Error;
  onChange?: (version: string) => void;
  private snapshot: PlanOverlaySnapshot = { version: null, plans: new Map() };

  /** Stores API plans (a string body is stored as is) under a new version. */
  put(version: string, plans: Record<string, unknown>): void {
    const bodies = Object.entries(plans).map(([name, body]): [string, string] => [
      name,
      typeof body === 'string' ? body : JSON.stringify(body),
    ]);
    this.snapshot = { version, plans: new Map(bodies) };
  }

  async load(): Promise<PlanOverlaySnapshot> {
    this.loads++;
    const failure = this.failNextLoad;
    this.failNextLoad = undefined;
    if (failure) throw failure;
    return { version: this.snapshot.version, plans: new Map(this.snapshot.plans) };
  }

  async version(): Promise<string | null> {
    return this.snapshot.version;
  }

  subscribe(onChange: (version: string) => void): RedisClient {
    this.onChange = onChange;
    // PlanRegistry only disconnects the subscriber.
    return this.subscriber as unknown as RedisClient;
  }
}

const BASIC: Plan = plan('basic', { maxStreams: 1 });
const FAMILY: Plan = { ...BASIC, name: 'family', maxStreams: 4, countBy: 'device' };

function configWithFilePlans(): AppConfig {
  const loaded = loadConfig({
    REDIS_URL: 'redis://127.0.0.1:1',
    USHER_PLANS_FILE: join(__dirname, '..', '..', 'config', 'plans.yaml'),
  });
  return { ...loaded, plans: { defaultPlan: 'basic', plans: [BASIC, FAMILY] } };
}

const summary = (registry: PlanRegistry) =>
  registry.effective().map((p) => `${p.name}:${p.source}:${p.maxStreams}`);

/** Lets a refresh started by a change message (not awaited by anyone) finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

let registry: PlanRegistry | undefined;
let source: FakePlanSource;
let metrics: MetricsService;
let logged: { warn: jest.SpyInstance; error: jest.SpyInstance };

function withSource(): PlanRegistry {
  // PlanRegistry takes the PlanStore class; the fake has the members it uses.
  registry = new PlanRegistry(configWithFilePlans(), metrics, source as unknown as PlanStore);
  return registry;
}

beforeEach(() => {
  source = new FakePlanSource();
  metrics = new MetricsService();
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  logged = {
    warn: jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined),
    error: jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined),
  };
});
afterEach(() => {
  registry?.onApplicationShutdown();
  registry = undefined;
  jest.restoreAllMocks();
});

describe('PlanRegistry', () => {
  it('without API plans: the file plans in file order; any other name falls back to the default', () => {
    registry = new PlanRegistry(configWithFilePlans(), metrics);
    expect(summary(registry)).toEqual(['basic:file:1', 'family:file:4']);
    expect(registry.planFor('family')).toMatchObject(FAMILY);
    expect(registry.planFor('gold').name).toBe('basic');
    expect(registry.planFor(undefined).name).toBe('basic');
    expect(registry.has('gold')).toBe(false);
    expect(encodePlanTable(registry.current.values())).toBe(encodePlanTable([BASIC, FAMILY]));
  });

  it('applies the API plans: new ones after the file plans by name, one named like a file plan replaces it', async () => {
    const r = withSource();
    source.put('e.1', {
      zeta: { maxStreams: 7 },
      alpha: { maxStreams: 2 },
      basic: { maxStreams: 5, onLimit: 'evict-oldest' },
    });
    await r.refresh();
    expect(summary(r)).toEqual(['basic:api:5', 'family:file:4', 'alpha:api:2', 'zeta:api:7']);
    expect(r.planFor('basic')).toMatchObject({ maxStreams: 5, onLimit: 'evict-oldest' });
    expect(encodePlanTable(r.current.values())).toBe(
      '\nbasic 5 session evict-oldest 60 30 -1 30\nfamily 4 device reject-new 60 30 -1 30\n' +
        'alpha 2 session reject-new 60 30 -1 30\nzeta 7 session reject-new 60 30 -1 30\n',
    );
    const gauge = await metrics.planMaxStreams.get();
    expect(gauge.values.map((v) => [v.labels.plan, v.value])).toEqual([
      ['basic', 5],
      ['family', 4],
      ['alpha', 2],
      ['zeta', 7],
    ]);
  });

  it('leaves out an invalid API plan, logging why, and applies the valid ones', async () => {
    const r = withSource();
    source.put('e.1', { good: { maxStreams: 2 }, bad: { maxStreams: 1000 }, junk: 'not json' });
    await r.refresh();
    expect(summary(r)).toEqual(['basic:file:1', 'family:file:4', 'good:api:2']);
    expect(logged.error.mock.calls.map(([message]) => message).sort()).toEqual([
      'ignoring invalid API plan in Redis: plans.bad.maxStreams: must be an integer from 0 to 100',
      'ignoring invalid API plan in Redis: plans.junk: must be an object',
    ]);
  });

  it('puts a file plan back when its API plan is removed', async () => {
    const r = withSource();
    source.put('e.1', { basic: { maxStreams: 5 } });
    await r.refresh();
    source.put('e.2', {});
    await r.refresh();
    expect(summary(r)).toEqual(['basic:file:1', 'family:file:4']);
  });

  it('keeps the same plans map until the plans change (users cache what they derive from it)', async () => {
    const r = withSource();
    const before = r.current;
    expect(r.current).toBe(before);
    source.put('e.1', { gold: { maxStreams: 3 } });
    await r.refresh();
    expect(r.current).not.toBe(before);
    expect([...r.current.keys()]).toEqual(['basic', 'family', 'gold']);
  });

  it('does not apply the same version twice', async () => {
    const r = withSource();
    source.put('e.1', { alpha: { maxStreams: 2 } });
    await r.refresh();
    source.put('e.1', { alpha: { maxStreams: 9 } });
    await r.refresh();
    expect(r.planFor('alpha').maxStreams).toBe(2);
  });

  it('keeps the plans in force when a read fails, and the next read still applies', async () => {
    const r = withSource();
    source.put('e.1', { alpha: { maxStreams: 2 } });
    await r.refresh();
    source.put('e.2', { alpha: { maxStreams: 3 } });
    source.failNextLoad = new Error('store down');
    await expect(r.refresh()).rejects.toThrow('store down');
    expect(r.planFor('alpha').maxStreams).toBe(2);
    await r.refresh();
    expect(r.planFor('alpha').maxStreams).toBe(3);
  });

  it('reads the API plans at start-up, then re-reads on a change message of a new version only', async () => {
    const r = withSource();
    source.put('e.1', { alpha: { maxStreams: 2 } });
    await r.onModuleInit();
    expect(source.loads).toBe(1);
    expect(r.has('alpha')).toBe(true);

    source.onChange?.('e.1');
    await settle();
    expect(source.loads).toBe(1);

    source.put('e.2', { beta: { maxStreams: 3 } });
    source.onChange?.('e.2');
    await settle();
    expect(source.loads).toBe(2);
    expect(summary(r)).toEqual(['basic:file:1', 'family:file:4', 'beta:api:3']);

    r.onApplicationShutdown();
    expect(source.subscriber.disconnect).toHaveBeenCalledTimes(1);
  });

  it('serves the file plans when the API plans cannot be read at start-up', async () => {
    const r = withSource();
    source.put('e.1', { alpha: { maxStreams: 2 } });
    source.failNextLoad = new Error('store down');
    await expect(r.onModuleInit()).resolves.toBeUndefined();
    expect(summary(r)).toEqual(['basic:file:1', 'family:file:4']);
    expect(logged.warn).toHaveBeenCalledWith(
      'serving the file plans until the API plans can be read: store down',
    );
  });
});
