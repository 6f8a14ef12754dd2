import { PlanCatalog } from './plan';
import { ProxyConfig } from './proxy-config';

export type FailMode = 'open' | 'closed';
export type UsherRole = 'all' | 'api' | 'worker';

export interface RedisNode {
  host: string;
  port: number;
}

/** Auth and TLS of the data nodes, the same for every mode (see docs/failover.md). */
export interface RedisSecurity {
  /** REDIS_USERNAME (ACL user); for REDIS_URL, the URL's own user name wins. */
  username?: string;
  /** REDIS_PASSWORD or REDIS_PASSWORD_FILE; for REDIS_URL, the URL's own password wins. */
  password?: string;
  /** TLS: a rediss:// REDIS_URL, or REDIS_TLS=true (any mode). */
  tls?: boolean;
  /** PEM bundle of the CAs to verify the servers with (REDIS_TLS_CA_FILE); else the system CAs. */
  tlsCa?: string;
}

/** Where the session store lives. `local` means: development, find or start a Redis (main.ts). */
export type RedisTarget =
  | ({ mode: 'single'; url: string } & RedisSecurity)
  | ({ mode: 'cluster'; nodes: RedisNode[] } & RedisSecurity)
  | ({
      mode: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      sentinelPassword?: string;
    } & RedisSecurity)
  | { mode: 'local' };

export interface AppConfig {
  production: boolean;
  port: number;
  host: string;
  redis: RedisTarget;
  keyPrefix: string;
  plansFile: string;
  plans: PlanCatalog;
  sessionIdSecret: string;
  failMode: FailMode;
  storeTimeoutMs: number;
  /** Sessions and revocations one user may hold together, at least (docs/architecture.md). */
  maxEntriesPerUser: number;
  /** Sessions one device may hold under countBy device. */
  maxSessionsPerDevice: number;
  /** Store calls this process may have outstanding; past it a heartbeat is answered at once. */
  maxInFlight: number;
  licenseServerTokens: string[];
  adminTokens: string[];
  /** How often each instance re-reads the plans version, in case a pub/sub message was lost. */
  planRefreshMs: number;
  role: UsherRole;
  /** After SIGTERM, in-flight requests get this long to finish before the process exits anyway. */
  shutdownGraceMs: number;
  webhookUrls: string[];
  webhookSecret: string;
  queueRedisUrl?: string;
  /** Session events held in memory for the queue at most; more are dropped and counted. */
  eventBufferSize: number;
  /** One webhook POST may take this long before it counts as failed (and is retried). */
  webhookTimeoutMs: number;
  /** Tries per (event, URL) delivery, the first one included. */
  webhookAttempts: number;
  /** First retry delay; each next one doubles (BullMQ exponential backoff). */
  webhookBackoffMs: number;
  /** Cadence of the cluster-wide usher_active_slots computation. */
  activeSlotsIntervalMs: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug';
  /** Licence proxy (USHER_PROXY_*): docs/proxy.md. */
  proxy: ProxyConfig;
  /** USHER_CONSOLE: serve the admin console at /console (default true). */
  console: boolean;
  /** Warnings to print once the logger is up (development fallbacks in force). */
  warnings: string[];
}

export const DEV_SESSION_ID_SECRET = 'usher-development-secret-do-not-use-in-production';
