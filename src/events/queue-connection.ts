import { AppConfig, RedisTarget } from '../config/app-config';
import { createRedisClient, RedisClient } from '../redis/redis-connection';

/**
 * Where the queue lives: USHER_QUEUE_REDIS_URL, else the sessions' Redis (single, sentinel or
 * cluster alike: queuePrefix carries a hash tag, so BullMQ's scripts run on Redis Cluster).
 */
export function queueTarget(config: AppConfig): RedisTarget {
  if (!config.queueRedisUrl) return config.redis;
  // A separate queue Redis: TLS from its rediss:// URL, verified with the same CAs as the store.
  const tlsCa = config.redis.mode === 'local' ? undefined : config.redis.tlsCa;
  return {
    mode: 'single',
    url: config.queueRedisUrl,
    tls: config.queueRedisUrl.startsWith('rediss:'),
    tlsCa,
  };
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

export function createQueueClient(target: RedisTarget, role: QueueClientRole): RedisClient {
  const producer = role === 'producer';
  return createRedisClient(target, {
    connectionName: `usher-queue-${role}`,
    commandTimeoutMs: producer ? PRODUCER_COMMAND_TIMEOUT_MS : undefined,
    offlineQueue: !producer,
    maxRetriesPerRequest: producer ? 0 : null,
  });
}
