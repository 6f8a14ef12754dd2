import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  AppConfig,
  DEV_SESSION_ID_SECRET,
  RedisNode,
  RedisSecurity,
  RedisTarget,
} from './app-config';
import { PlanCatalog, parsePlanCatalog } from './plan';
import { loadProxyConfig } from './proxy-config';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Collects problems so one start-up message names every bad variable. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}: must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name}: must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** NAME (comma-separated) and NAME_FILE (one per line) together. */
  secretList(name: string): string[] {
    const values = this.list(name);
    const file = this.raw(`${name}_FILE`);
    if (file !== undefined) {
      try {
        values.push(
          ...readFileSync(file, 'utf8')
            .split(/\r?\n/)
            .map((s) => s.trim())
            .filter((s) => s && !s.startsWith('#')),
        );
      } catch (err) {
        this.problems.push(`${name}_FILE: cannot read ${file} (${(err as Error).message})`);
      }
    }
    return [...new Set(values)];
  }

  secret(name: string): string | undefined {
    return this.secretList(name)[0];
  }

  nodes(name: string): RedisNode[] {
    const nodes: RedisNode[] = [];
    for (const entry of this.list(name)) {
      const match = /^(.+):(\d{1,5})$/.exec(entry);
      const port = match ? Number(match[2]) : NaN;
      if (!match || port < 1 || port > 65535) {
        this.problems.push(`${name}: "${entry}" is not host:port`);
      } else {
        nodes.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
      }
    }
    return nodes;
  }

  url(name: string, schemes: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (!schemes.includes(url.protocol)) throw new Error('scheme');
      return value;
    } catch {
      this.problems.push(`${name}: must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`);
      return undefined;
    }
  }
}

function redisTarget(r: EnvReader, production: boolean): RedisTarget {
  const url = r.url('REDIS_URL', ['redis:', 'rediss:']);
  const clusterNodes = r.nodes('REDIS_CLUSTER_NODES');
  const sentinels = r.nodes('REDIS_SENTINELS');
  const chosen = [url, clusterNodes.length, sentinels.length].filter(Boolean).length;
  if (chosen > 1) {
    r.problems.push('REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS: set only one of them');
  }
  const security: RedisSecurity = {
    username: r.raw('REDIS_USERNAME'),
    password: r.secret('REDIS_PASSWORD'),
    tls:
      r.oneOf('REDIS_TLS', ['true', 'false'] as const, 'false') === 'true' ||
      Boolean(url?.startsWith('rediss:')),
  };
  const caFile = r.raw('REDIS_TLS_CA_FILE');
  if (caFile !== undefined) {
    try {
      security.tlsCa = readFileSync(caFile, 'utf8');
    } catch (err) {
      r.problems.push(`REDIS_TLS_CA_FILE: cannot read ${caFile} (${(err as Error).message})`);
    }
    if (!security.tls) {
      r.problems.push(
        'REDIS_TLS_CA_FILE: TLS is off (use a rediss:// REDIS_URL or REDIS_TLS=true)',
      );
    }
  }
  if (clusterNodes.length) return { mode: 'cluster', nodes: clusterNodes, ...security };
  if (sentinels.length) {
    const masterName = r.raw('REDIS_SENTINEL_MASTER');
    if (!masterName) r.problems.push('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS');
    return {
      mode: 'sentinel',
      sentinels,
      masterName: masterName ?? '',
      sentinelPassword: r.secret('REDIS_SENTINEL_PASSWORD'),
      ...security,
    };
  }
  if (url) return { mode: 'single', url, ...security };
  if (production) {
    r.problems.push('REDIS_URL: required in production (or REDIS_CLUSTER_NODES / REDIS_SENTINELS)');
  }
  return { mode: 'local' };
}

function loadPlans(file: string, problems: string[]): PlanCatalog {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`USHER_PLANS_FILE: cannot load ${file} (${(err as Error).message})`);
    return { defaultPlan: '', plans: [] };
  }
  const result = parsePlanCatalog(doc, file);
  problems.push(...result.problems);
  return result.catalog ?? { defaultPlan: '', plans: [] };
}

/** Parses and validates the whole configuration once; throws ConfigError naming every problem. */
export function loadConfig(env: Env): AppConfig {
  const r = new EnvReader(env);
  const production = r.raw('NODE_ENV') === 'production';
  const warnings: string[] = [];

  let sessionIdSecret = r.secret('USHER_SESSION_ID_SECRET');
  if (!sessionIdSecret) {
    if (production) r.problems.push('USHER_SESSION_ID_SECRET: required in production');
    else warnings.push('USHER_SESSION_ID_SECRET is unset: using a fixed development secret');
    sessionIdSecret = DEV_SESSION_ID_SECRET;
  }
  const licenseServerTokens = r.secretList('USHER_LICENSE_SERVER_TOKENS');
  const adminTokens = r.secretList('USHER_ADMIN_TOKENS');
  if (!licenseServerTokens.length && !adminTokens.length) {
    if (production) {
      r.problems.push(
        'USHER_LICENSE_SERVER_TOKENS, USHER_ADMIN_TOKENS: at least one token is required in production',
      );
    } else {
      warnings.push(
        'no API tokens configured: every API is open (never run like this in production)',
      );
    }
  }

  const plansFile = r.raw('USHER_PLANS_FILE') ?? 'config/plans.yaml';
  const config: AppConfig = {
    production,
    port: r.integer('PORT', 8080, 0, 65535),
    host: r.raw('HOST') ?? '0.0.0.0',
    redis: redisTarget(r, production),
    keyPrefix: r.raw('USHER_KEY_PREFIX') ?? 'usher',
    plansFile,
    plans: loadPlans(plansFile, r.problems),
    sessionIdSecret,
    failMode: r.oneOf('USHER_FAIL_MODE', ['open', 'closed'] as const, 'open'),
    storeTimeoutMs: r.integer('USHER_STORE_TIMEOUT_MS', 150, 1, 60000),
    maxEntriesPerUser: r.integer('USHER_MAX_ENTRIES_PER_USER', 64, 4, 10000),
    maxSessionsPerDevice: r.integer('USHER_MAX_SESSIONS_PER_DEVICE', 8, 1, 1000),
    maxInFlight: r.integer('USHER_MAX_IN_FLIGHT', 1000, 1, 1_000_000),
    licenseServerTokens,
    adminTokens,
    planRefreshMs: r.integer('USHER_PLAN_REFRESH_MS', 1000, 100, 60000),
    role: r.oneOf('USHER_ROLE', ['all', 'api', 'worker'] as const, 'all'),
    shutdownGraceMs: r.integer('USHER_SHUTDOWN_GRACE_MS', 25000, 0, 600000),
    webhookUrls: r.list('USHER_WEBHOOK_URLS'),
    webhookSecret: r.secret('USHER_WEBHOOK_SECRET') ?? '',
    queueRedisUrl: r.url('USHER_QUEUE_REDIS_URL', ['redis:', 'rediss:']),
    eventBufferSize: r.integer('USHER_EVENT_BUFFER_SIZE', 10000, 1, 1_000_000),
    webhookTimeoutMs: r.integer('USHER_WEBHOOK_TIMEOUT_MS', 5000, 100, 60000),
    webhookAttempts: r.integer('USHER_WEBHOOK_ATTEMPTS', 10, 1, 100),
    webhookBackoffMs: r.integer('USHER_WEBHOOK_BACKOFF_MS', 2000, 1, 3_600_000),
    activeSlotsIntervalMs: r.integer('USHER_ACTIVE_SLOTS_INTERVAL_MS', 15000, 1000, 30000),
    logLevel: r.oneOf('USHER_LOG_LEVEL', ['error', 'warn', 'log', 'debug'] as const, 'log'),
    proxy: loadProxyConfig(r),
    console: r.oneOf('USHER_CONSOLE', ['true', 'false'] as const, 'true') === 'true',
    warnings,
  };
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(config.keyPrefix)) {
    r.problems.push('USHER_KEY_PREFIX: must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  }
  for (const url of config.webhookUrls) {
    if (!/^https?:\/\//.test(url))
      r.problems.push(`USHER_WEBHOOK_URLS: "${url}" is not an http(s) URL`);
  }
  if (config.webhookUrls.length && !config.webhookSecret) {
    r.problems.push('USHER_WEBHOOK_SECRET: required when USHER_WEBHOOK_URLS is set');
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}
