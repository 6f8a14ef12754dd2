import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis, { Cluster } from 'ioredis';
import { AppConfig } from '../../src/config/app-config';
import { Plan } from '../../src/config/plan';
import { HeartbeatService } from '../../src/heartbeat/heartbeat.service';
import { OverrideStore } from '../../src/plans/override-store';
import { RedisConnections } from '../../src/redis/redis-connections';
import { SessionStore } from '../../src/sessions/session-store';
import { StoreTarget } from './store-targets';
import { catalog, startApp, testConfig } from './test-app';

/** What a store suite works with: the app on its own Redis deployment, and that deployment. */
export interface StoreSuite {
  app: NestFastifyApplication;
  store: SessionStore;
  heartbeats: HeartbeatService;
  /**
   * The override store, as the admin API uses it: an override set on a user with sessions must go
   * through it (it removes the user's no-override marker; docs/architecture.md, "Key layout").
   */
  overrides: OverrideStore;
  /** A client on the deployment (the app's control connection), for assertions. */
  redis: Redis | Cluster;
  /** The app's key prefix (every suite has its own). */
  prefix: string;
  /** The store env of the deployment (REDIS_URL or REDIS_CLUSTER_NODES), for more apps. */
  env: Record<string, string>;
}

/**
 * Registers the suite's beforeAll/afterAll: starts `target` and the real app on it with `plans`
 * (a store timeout for a busy machine, not a latency test) and stops both. The returned object
 * is filled in before the first test runs.
 */
export function useStoreSuite(
  target: StoreTarget,
  plans: Plan[],
  overrides: Partial<AppConfig> = {},
): StoreSuite {
  const suite = {} as StoreSuite;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await target.start();
    stop = started.stop;
    const config = testConfig(started.env, {
      plans: catalog(...plans),
      storeTimeoutMs: 5000,
      ...overrides,
    });
    const app = await startApp(config);
    Object.assign(suite, {
      app,
      store: app.get(SessionStore),
      heartbeats: app.get(HeartbeatService),
      overrides: app.get(OverrideStore),
      redis: app.get(RedisConnections).control,
      prefix: config.keyPrefix,
      env: started.env,
    });
  });
  afterAll(async () => {
    await suite.app?.close();
    await stop?.();
  });
  return suite;
}
