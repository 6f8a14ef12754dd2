import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { RedisTarget } from '../config/app-config';

export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  connectionName: string;
  /** Longest wait for any one command; none for BullMQ workers (they block waiting for jobs). */
  commandTimeoutMs?: number;
  /** Queue commands while disconnected instead of failing at once (BullMQ workers only). */
  offlineQueue?: boolean;
  /** ioredis maxRetriesPerRequest: 0 (fail fast) unless given; BullMQ workers need null. */
  maxRetriesPerRequest?: number | null;
}

/** Reconnect quickly and forever: usher must recover by itself when Redis returns. */
const retryStrategy = (attempt: number) => Math.min(50 * attempt, 1000);

/** A sentinel that does not answer this fast is skipped for the next one. */
const SENTINEL_COMMAND_TIMEOUT_MS = 1000;
/** Pause before a Sentinel client that ended by itself connects again (reconnectWhenEnded). */
const RECONNECT_AFTER_END_MS = 100;

/**
 * READONLY: the node we are connected to was demoted to a replica by a failover while our
 * connection stayed open (a DNS endpoint that now names another primary, or a Sentinel
 * failover that did not kill clients). Reconnecting resolves the current primary again; the
 * failed command is not resent (it is answered degraded / 503 like any store error).
 */
const reconnectOnError = (err: Error) => err.message.startsWith('READONLY');

/** TLS options for a target, or undefined for plain TCP (REDIS_TLS / rediss://, REDIS_TLS_CA_FILE). */
export function tlsOptions(target: RedisTarget): TlsConnectionOptions | undefined {
  if (target.mode === 'local' || !target.tls) return undefined;
  return target.tlsCa ? { ca: target.tlsCa } : {};
}

/**
 * Builds a client for the configured target. No offline queue: while Redis is unreachable a
 * command fails at once, so a heartbeat is decided (degraded or 503) instead of waiting.
 * No auto-pipelining: the batches ioredis would build outlive V8's young generation (measured in
 * docs/performance.md: x1.36 throughput, lower p99 without); the hot path coalesces its writes
 * with a WriteCoalescer instead, which allocates nothing per batch.
 * Every mode runs the same scripts (defineCommand: EVALSHA, EVAL on a new connection or after
 * NOSCRIPT, so a promoted replica or a restarted server gets them again by itself).
 */
export function createRedisClient(target: RedisTarget, options: ConnectionOptions): RedisClient {
  const offlineQueue = options.offlineQueue ?? false;
  const base: RedisOptions = {
    connectionName: options.connectionName,
    enableOfflineQueue: offlineQueue,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest:
      options.maxRetriesPerRequest === undefined ? 0 : options.maxRetriesPerRequest,
    connectTimeout: 2000,
    retryStrategy,
  };
  if (target.mode === 'local') {
    throw new Error('Redis target "local" must be resolved to a URL before the app starts');
  }
  const tls = tlsOptions(target);
  const auth = { username: target.username, password: target.password };
  switch (target.mode) {
    case 'single':
      // Credentials from REDIS_USERNAME / REDIS_PASSWORD(_FILE) fill in what the URL leaves out.
      return new Redis(target.url, { ...base, ...defined(auth), tls, reconnectOnError });
    case 'cluster': {
      const cluster: ClusterOptions = {
        enableOfflineQueue: offlineQueue,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: 2000,
        redisOptions: { ...base, ...auth, tls },
      };
      if (tls) {
        // Connect to the configured names (not their resolved IPs), so certificates issued for
        // those names verify (the usual setup of managed clusters with in-transit encryption).
        cluster.dnsLookup = (address, callback) => callback(null, address);
      }
      return new Cluster(target.nodes, cluster);
    }
    case 'sentinel':
      return reconnectWhenEnded(
        new Redis({
          ...base,
          ...auth,
          sentinels: target.sentinels,
          name: target.masterName,
          sentinelPassword: target.sentinelPassword,
          tls,
          sentinelTLS: tls,
          enableTLSForSentinelMode: Boolean(tls),
          sentinelRetryStrategy: retryStrategy,
          sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
          // Subscribe to +switch-master: move to the new master as soon as Sentinel names it.
          failoverDetector: true,
          reconnectOnError,
        }),
      );
  }
}

/**
 * ioredis 5 can end a Sentinel client for good in a failover: when +switch-master reaches the
 * failover detector of an earlier connection while the client is asking the sentinels for the
 * master again, that connect attempt is aborted ("Connection is closed") and the client goes to
 * "end" without retrying (seen in 2 of 10 crash tests here, on usher's connections and BullMQ's
 * blocking ones alike; redis/ioredis#1683 reports it in production). Every command would fail
 * until a restart, so a Sentinel client that ends without being closed connects again.
 * "Closed" is what its owner asked for (quit, disconnect: usher's or BullMQ's), so those two are
 * wrapped to say so; duplicates (subscribers, BullMQ's blocking connections) get the same guard.
 */
function reconnectWhenEnded(client: Redis): Redis {
  const { disconnect, quit, duplicate } = client;
  // Set once its owner closes it: the only way this client may stay ended.
  let closedOnPurpose = false;
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect) closedOnPurpose = true;
    disconnect.call(client, reconnect);
  };
  client.quit = ((callback?: Parameters<Redis['quit']>[0]) => {
    closedOnPurpose = true;
    return quit.call(client, callback);
  }) as Redis['quit'];
  client.duplicate = (override?: Partial<RedisOptions>) =>
    reconnectWhenEnded(duplicate.call(client, override));
  client.on('end', () => {
    if (closedOnPurpose) return;
    setTimeout(() => {
      if (closedOnPurpose || client.status !== 'end') return;
      // A failed attempt ends the client again, which schedules the next one.
      client.connect().catch(() => undefined);
    }, RECONNECT_AFTER_END_MS).unref();
  });
  return client;
}

/** The entries whose value is set, so they do not override what a URL says. */
function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

/** The store did not answer within the deadline (classified as a timeout, like ioredis's own). */
export class DeadlineExceededError extends Error {
  constructor(ms: number) {
    super(`Command timed out: no answer from Redis within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Settles within `ms` whatever the client does. ioredis's commandTimeout starts only when a
 * command is written to a node: a command queued behind an auto-pipeline that is still in flight,
 * retried by the cluster client while a master fails over, or re-sent as EVAL after NOSCRIPT can
 * wait longer. The hot path's bound (USHER_STORE_TIMEOUT_MS) must not depend on that.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onSettled?: () => void): Promise<T> {
  // One promise and one timer per call (it runs on every heartbeat): no race, no finally.
  // onSettled runs when `work` itself settles, which may be after the deadline.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        onSettled?.();
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        onSettled?.();
        reject(err);
      },
    );
  });
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

/**
 * Closes a client for good: QUIT when it can (pending replies arrive first), then disconnect(),
 * which also ends a Sentinel client's failover-detector subscriptions (QUIT leaves them open and
 * reconnecting, which would keep the process alive).
 */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
}
