import { startCluster } from './redis-cluster';
import { startRedis } from './redis-server';

/**
 * The Redis deployments the store integration suites run against. Each returns the store env for
 * testConfig (REDIS_URL or REDIS_CLUSTER_NODES) plus a stop function. Every one is a private
 * server on free loopback ports, never the machine's Redis.
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
  {
    // Users spread over 3 masters: every per-user script must stay within one hash slot.
    name: '3-master cluster',
    start: async () => {
      const cluster = await startCluster({ masters: 3 });
      return { env: cluster.env, stop: () => cluster.stop() };
    },
  },
];
