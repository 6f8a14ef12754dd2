import { PlanCatalog } from './plan';

export type FailMode = 'open' | 'closed';
export type UsherRole = 'all' | 'api' | 'worker';

export interface RedisNode {
  host: string;
  port: number;
}

/** Where the session store lives. `local` means: development, find or start a Redis (main.ts). */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | { mode: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls: boolean }
  | {
      mode: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      tls: boolean;
    }
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
  logLevel: 'error' | 'warn' | 'log' | 'debug';
  /** Warnings to print once the logger is up (development fallbacks in force). */
  warnings: string[];
}

export const DEV_SESSION_ID_SECRET = 'usher-development-secret-do-not-use-in-production';
