import Redis, { Cluster, RedisOptions } from 'ioredis';
import { AppConfig, RedisTarget } from '../config/app-config';
import { RedisClient } from '../redis/redis-connection';

/**
 * Where the queue lives: USHER_QUEUE_REDIS_URL, else the sessions' Redis (single, sentinel or
 * cluster alike: queuePrefix carries a hash tag, so BullMQ's scripts run on Redis Cluster).
 */
export function queueTarget(config: AppConfig): RedisTarget {
  return config.queueRedisUrl ? { mode: 'single', url: config.queueRedisUrl } : config.redis;
}

/**
 * BullMQ key prefix: one hash tag per deployment ({usher-events} with the default key prefix),
 * so that all keys of a queue share a Cluster slot, as BullMQ requires on Redis Cluster.
 */
export function queuePrefix(keyPrefix: string): string {
  return `{${keyPrefix}-events}`;
}

/**
 * producer: adds jobs. No offline queue and a command timeout, so that with the queue's Redis
 * down an add fails at once and the publisher drops (and counts) instead of piling up.
 * worker: what BullMQ workers require (maxRetriesPerRequest null, no command timeout: blocking
 * commands wait for jobs); it reconnects forever and resumes by itself.
 */
export type QueueClientRole = 'producer' | 'worker';

const PRODUCER_COMMAND_TIMEOUT_MS = 5000;
/** Reconnect quickly and forever: deliveries resume by themselves when the queue Redis returns. */
const retryStrategy = (attempt: number) => Math.min(100 * attempt, 2000);

export function createQueueClient(target: RedisTarget, role: QueueClientRole): RedisClient {
  const producer = role === 'producer';
  const base: RedisOptions = {
    connectionName: `usher-queue-${role}`,
    enableOfflineQueue: !producer,
    maxRetriesPerRequest: producer ? 0 : null,
    commandTimeout: producer ? PRODUCER_COMMAND_TIMEOUT_MS : undefined,
    connectTimeout: 2000,
    retryStrategy,
  };
  switch (target.mode) {
    case 'single':
      return new Redis(target.url, base);
    case 'cluster':
      return new Cluster(target.nodes, {
        enableOfflineQueue: !producer,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: 2000,
        redisOptions: {
          ...base,
          username: target.username,
          password: target.password,
          tls: target.tls ? {} : undefined,
        },
      });
    case 'sentinel':
      return new Redis({
        ...base,
        sentinels: target.sentinels,
        name: target.masterName,
        username: target.username,
        password: target.password,
        sentinelPassword: target.sentinelPassword,
        tls: target.tls ? {} : undefined,
        sentinelTLS: target.tls ? {} : undefined,
        enableTLSForSentinelMode: target.tls,
        sentinelRetryStrategy: retryStrategy,
      });
    case 'local':
      throw new Error('Redis target "local" must be resolved to a URL before the app starts');
  }
}
