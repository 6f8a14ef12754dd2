import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';

export const LICENSE_TOKEN = 'test-license-server-token';
export const ADMIN_TOKEN = 'test-admin-token';

export { catalog, plan } from './plans';

/**
 * A validated config for tests: the repo's loadConfig on a minimal env (so tests exercise the
 * same parsing), with the store (a REDIS_URL, or env such as REDIS_CLUSTER_NODES), tokens and
 * plans a test wants. Every config gets its own key prefix so suites never see each other's keys.
 *
 * The store timeout defaults to 5 s here, not the service's 150 ms: on a loaded CI machine a first
 * EVAL against a fresh Cluster can take longer than 150 ms, and a test that is not about the
 * deadline must not see a `degraded` answer. Tests about the deadline set `storeTimeoutMs`.
 */
export function testConfig(
  store: string | Record<string, string>,
  overrides: Partial<AppConfig> = {},
  env: Record<string, string> = {},
): AppConfig {
  const base = loadConfig({
    ...(typeof store === 'string' ? { REDIS_URL: store } : store),
    USHER_SESSION_ID_SECRET: 'test-secret',
    USHER_LICENSE_SERVER_TOKENS: LICENSE_TOKEN,
    USHER_ADMIN_TOKENS: ADMIN_TOKEN,
    USHER_LOG_LEVEL: 'error',
    USHER_STORE_TIMEOUT_MS: '5000',
    ...env,
  });
  return { ...base, keyPrefix: `t${Math.random().toString(36).slice(2, 8)}`, ...overrides };
}

/** The real Nest app, initialised (not listening): use supertest on app.getHttpServer(). */
export async function startApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApp(config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
