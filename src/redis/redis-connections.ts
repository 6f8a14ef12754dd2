import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Cluster } from 'ioredis';
import {
  closeRedisClient,
  createRedisClient,
  RedisClient,
  waitUntilReady,
  withDeadline,
} from './redis-connection';
import { WriteCoalescer } from './write-coalescer';

/** Timeout of the connection used off the hot path (admin, plans, background jobs). */
const CONTROL_COMMAND_TIMEOUT_MS = 2000;
/** How long start-up waits for Redis before serving anyway (degraded or 503, per fail mode). */
const STARTUP_WAIT_MS = 5000;

/**
 * Owns usher's Redis connections: `hot` for heartbeats (times out after USHER_STORE_TIMEOUT_MS),
 * `control` for everything else. Closed after the HTTP server has drained (onApplicationShutdown).
 */
@Injectable()
export class RedisConnections implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  readonly hot: RedisClient;
  readonly control: RedisClient;
  /** Heartbeats that would queue behind one in flight leave together on `hot` (WriteCoalescer). */
  readonly hotWrites: WriteCoalescer;
  private readonly storeTimeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.storeTimeoutMs = config.storeTimeoutMs;
    // No ioredis command timeout here: every call on this connection is bounded by withDeadline
    // (USHER_STORE_TIMEOUT_MS), and a second timer per heartbeat would only duplicate it.
    this.hot = createRedisClient(config.redis, { connectionName: 'usher-hot' });
    this.hotWrites = new WriteCoalescer(this.hot);
    this.control = createRedisClient(config.redis, {
      commandTimeoutMs: CONTROL_COMMAND_TIMEOUT_MS,
      connectionName: 'usher-control',
    });
    for (const [name, client] of Object.entries({ hot: this.hot, control: this.control })) {
      // ioredis emits 'error' on every failed reconnect; log the state change, not each attempt.
      client.on('error', () => undefined);
      client.on('ready', () => this.logger.log(`${name} connection ready`));
      client.on('end', () => this.logger.warn(`${name} connection closed`));
    }
  }

  /** Without an offline queue, requests before the first connect would all be degraded. */
  async onModuleInit(): Promise<void> {
    try {
      await Promise.all([
        waitUntilReady(this.hot, STARTUP_WAIT_MS),
        waitUntilReady(this.control, STARTUP_WAIT_MS),
      ]);
    } catch (err) {
      this.logger.warn(`starting without the store: ${(err as Error).message}`);
    }
  }

  /**
   * Whether the store can decide heartbeats now, answered within USHER_STORE_TIMEOUT_MS: the hot
   * connection is up and answers, and on Redis Cluster the cluster says cluster_state:ok (a dead
   * master not yet replaced by its replica fails its slots, or with the default
   * cluster-require-full-coverage every slot).
   */
  async storeAnswers(): Promise<boolean> {
    if (this.hot.status !== 'ready') return false;
    try {
      if (this.hot instanceof Cluster) {
        const info = await withDeadline(this.hot.cluster('INFO'), this.storeTimeoutMs);
        return /^cluster_state:ok\b/m.test(info);
      }
      return (await withDeadline(this.hot.ping(), this.storeTimeoutMs)) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * A dedicated connection for a pub/sub subscriber (it cannot share one); the caller subscribes
   * again on every 'ready'. ioredis's own re-subscribe is off: it sends SUBSCRIBE on 'ready'
   * without handling a rejection, and with no offline queue a connection that drops again at once
   * (a Sentinel failover) rejects it: an unhandled rejection. The cluster client's subscriber
   * has its own offline queue and keeps its re-subscribe.
   */
  subscriberConnection(): RedisClient {
    const client =
      this.control instanceof Cluster
        ? this.control.duplicate()
        : this.control.duplicate({ autoResubscribe: false });
    client.on('error', () => undefined);
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([closeRedisClient(this.hot), closeRedisClient(this.control)]);
  }
}
