import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CONTROL_FIELDS, PlanPolicy } from '../config/plan';
import { RedisConnections } from '../redis/redis-connections';
import { RedisClient } from '../redis/redis-connection';
import { ConfigStoreError, storeCall } from './config-store-error';

/**
 * The version lives in the same hash as the plans, so one HGETALL reads a consistent snapshot and
 * one MULTI on one key changes a plan and bumps the version together (also on Redis Cluster).
 * Plan names match PLAN_NAME_PATTERN, so they can never collide with these fields.
 */
export const VERSION_FIELD = '#version';
/**
 * A random id set by the first write after the hash was created. The version an instance compares
 * is "<epoch>.<counter>": should the store lose the hash (a restart without persistence, a flush)
 * the counter starts again from 1, but under a new epoch, so no instance mistakes a new plan set
 * for the one it already holds.
 */
export const EPOCH_FIELD = '#epoch';

const OPTIONAL_PLAN_FIELDS = [
  'maxDownloads',
  'downloadDays',
  'downloadPlaybackHours',
  ...CONTROL_FIELDS,
] as const satisfies readonly (keyof PlanPolicy)[];

/** The API plans as stored: raw JSON bodies by plan name, validated by the registry on load. */
export interface PlanOverlaySnapshot {
  /** "<epoch>.<counter>"; null while no plan was ever changed through the API (or after a flush). */
  version: string | null;
  plans: Map<string, string>;
}

function versionOf(
  epoch: string | null | undefined,
  counter: string | null | undefined,
): string | null {
  return counter ? `${epoch ?? ''}.${counter}` : null;
}

export interface PlanKeys {
  /** Hash: <plan name> = JSON PlanPolicy, plus EPOCH_FIELD and VERSION_FIELD. No TTL. */
  plans: string;
  /** Pub/sub channel: a message (the new version) after every change. */
  changes: string;
}

export function planKeys(prefix: string): PlanKeys {
  return { plans: `${prefix}:plans`, changes: `${prefix}:plans:changed` };
}

/**
 * Owns the API plans in Redis (the overlay over the plans file) and their change feed. Used off
 * the hot path only: at start-up, on a change message, on the periodic version check and by the
 * admin API.
 */
@Injectable()
export class PlanStore {
  readonly keys: PlanKeys;
  private readonly control: RedisClient;

  constructor(
    private readonly redis: RedisConnections,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = planKeys(config.keyPrefix);
    this.control = redis.control;
  }

  /** The connection the store uses, for callers that must wait until it is ready. */
  get client(): RedisClient {
    return this.control;
  }

  async load(): Promise<PlanOverlaySnapshot> {
    const flat = await storeCall(() => this.control.hgetall(this.keys.plans));
    const plans = new Map<string, string>();
    for (const [field, value] of Object.entries(flat)) {
      if (field !== VERSION_FIELD && field !== EPOCH_FIELD) plans.set(field, value);
    }
    return { version: versionOf(flat[EPOCH_FIELD], flat[VERSION_FIELD]), plans };
  }

  async version(): Promise<string | null> {
    const [epoch, counter] = await storeCall(() =>
      this.control.hmget(this.keys.plans, EPOCH_FIELD, VERSION_FIELD),
    );
    return versionOf(epoch, counter);
  }

  /** Stores (creates or replaces) an API plan; returns the new version. */
  async put(name: string, policy: PlanPolicy): Promise<string> {
    const body: PlanPolicy = {
      maxStreams: policy.maxStreams,
      countBy: policy.countBy,
      onLimit: policy.onLimit,
      renewalIntervalSeconds: policy.renewalIntervalSeconds,
      graceSeconds: policy.graceSeconds,
    };
    // the optional fields (downloads, rollout and fairness controls) only when the plan sets them
    for (const field of OPTIONAL_PLAN_FIELDS) {
      if (policy[field] !== undefined) Object.assign(body, { [field]: policy[field] });
    }
    return this.change((m) => m.hset(this.keys.plans, name, JSON.stringify(body)));
  }

  /** Removes an API plan (a file plan reverts to the file); returns the new version. */
  async remove(name: string): Promise<string> {
    return this.change((m) => m.hdel(this.keys.plans, name));
  }

  /** Subscribes a dedicated connection to the change channel; the caller closes it. */
  subscribe(onChange: (version: string) => void): RedisClient {
    const subscriber = this.redis.subscriberConnection();
    const channel = this.keys.changes;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) onChange(message);
    });
    // Without an offline queue SUBSCRIBE must wait for the connection, and every reconnect
    // needs it again (subscriberConnection: ioredis does not re-subscribe on its own).
    const subscribe = () => void subscriber.subscribe(channel).catch(() => undefined);
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
    return subscriber;
  }

  private async change(write: (m: ReturnType<RedisClient['multi']>) => unknown): Promise<string> {
    const multi = this.control.multi();
    multi.hsetnx(this.keys.plans, EPOCH_FIELD, randomBytes(6).toString('base64url'));
    write(multi);
    multi.hincrby(this.keys.plans, VERSION_FIELD, 1);
    multi.hget(this.keys.plans, EPOCH_FIELD);
    const results = await storeCall(() => multi.exec());
    const failed = results?.find(([err]) => err);
    if (!results || failed) {
      throw new ConfigStoreError(failed?.[0] ?? new Error('plan change was not applied'));
    }
    const [[, counter], [, epoch]] = results.slice(-2);
    const version = versionOf(epoch as string, String(counter)) as string;
    // Best effort: instances that miss this message catch up at their next version check.
    await this.control.publish(this.keys.changes, version).catch(() => undefined);
    return version;
  }
}
