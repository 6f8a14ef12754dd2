import Redis, { Cluster, RedisOptions } from 'ioredis';
import { RedisTarget } from '../config/app-config';

export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  /** Longest wait for any one command; rejects instead of hanging (fail fast). */
  commandTimeoutMs: number;
  connectionName: string;
}

/** Reconnect quickly and forever: usher must recover by itself when Redis returns. */
const retryStrategy = (attempt: number) => Math.min(50 * attempt, 1000);

/**
 * Builds a client for the configured target. No offline queue: while Redis is unreachable a
 * command fails at once, so a heartbeat is decided (degraded or 503) instead of waiting.
 */
export function createRedisClient(target: RedisTarget, options: ConnectionOptions): RedisClient {
  const base: RedisOptions = {
    connectionName: options.connectionName,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy,
    enableAutoPipelining: true,
  };
  switch (target.mode) {
    case 'single':
      return new Redis(target.url, base);
    case 'cluster':
      return new Cluster(target.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
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

/** Resolves once the client is ready, or rejects after timeoutMs. */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
