import { startRedis } from './redis-server';

/**
 * The Redis deployments the store integration suites run against. Each returns a connection
 * target for AppConfig plus a stop function. Issue [scale] adds a 3-master Redis Cluster here.
 */
export interface StoreTarget {
  name: string;
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

export const STORE_TARGETS: StoreTarget[] = [
  {
    name: 'single node',
    start: async () => {
      const redis = await startRedis();
      return { env: { REDIS_URL: redis.url }, stop: () => redis.stop() };
    },
  },
];
