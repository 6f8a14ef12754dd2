import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CountBy, Enforcement, OnLimit } from '../config/plan';
import { RedisConnections } from '../redis/redis-connections';
import { RedisClient } from '../redis/redis-connection';
import { NO_OVERRIDE_MARKER, userKeys } from '../redis/user-keys';
import { ConfigStoreError, storeCall } from './config-store-error';

/** A per-user override: any of these fields replaces the plan's (resolvePolicy in lua/policy.lua). */
export interface Override {
  plan?: string;
  maxStreams?: number;
  countBy?: CountBy;
  onLimit?: OnLimit;
  maxDownloads?: number;
  enforcement?: Enforcement;
  evictionGraceSeconds?: number;
  maxStreamsPerContent?: number;
  maxDevices?: number;
  /** Epoch ms (Redis clock); after it the override no longer applies and Redis drops it. */
  expiresAt?: number;
}

const FIELDS = [
  'plan',
  'maxStreams',
  'countBy',
  'onLimit',
  'maxDownloads',
  'enforcement',
  'evictionGraceSeconds',
  'maxStreamsPerContent',
  'maxDevices',
  'expiresAt',
] as const;

function fromHash(flat: Record<string, string>): Override | null {
  const o: Override = {};
  if (flat.plan !== undefined) o.plan = flat.plan;
  if (flat.maxStreams !== undefined) o.maxStreams = Number(flat.maxStreams);
  if (flat.countBy !== undefined) o.countBy = flat.countBy as CountBy;
  if (flat.onLimit !== undefined) o.onLimit = flat.onLimit as OnLimit;
  if (flat.maxDownloads !== undefined) o.maxDownloads = Number(flat.maxDownloads);
  if (flat.enforcement !== undefined) o.enforcement = flat.enforcement as Enforcement;
  for (const field of ['evictionGraceSeconds', 'maxStreamsPerContent', 'maxDevices'] as const) {
    if (flat[field] !== undefined) o[field] = Number(flat[field]);
  }
  if (flat.expiresAt !== undefined) o.expiresAt = Number(flat.expiresAt);
  return Object.keys(o).length ? o : null;
}

function pairsFromReply(reply: unknown): Record<string, string> {
  // Inside MULTI, ioredis returns HGETALL as a flat array rather than an object.
  if (Array.isArray(reply)) {
    const flat: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) flat[String(reply[i])] = String(reply[i + 1]);
    return flat;
  }
  return (reply ?? {}) as Record<string, string>;
}

/**
 * Owns the per-user override hash (userKeys().override), which every heartbeat script reads in
 * the same round trip unless the user's no-override marker says there is none. Overrides are
 * configuration: no TTL, except PEXPIREAT at expiresAt.
 */
@Injectable()
export class OverrideStore {
  private readonly control: RedisClient;
  private readonly prefix: string;

  constructor(redis: RedisConnections, @Inject(APP_CONFIG) config: AppConfig) {
    this.control = redis.control;
    this.prefix = config.keyPrefix;
  }

  /** The Redis server's clock (ms): what the scripts compare expiresAt with. */
  async now(): Promise<number> {
    const [seconds, micros] = await storeCall(() => this.control.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** The override in force, or null (none, or expired). */
  async get(userId: string, now?: number): Promise<Override | null> {
    const flat = await storeCall(() => this.control.hgetall(this.key(userId)));
    return this.live(fromHash(flat), now);
  }

  /**
   * Replaces the user's override atomically; returns the one it replaced (for the audit log). The
   * same transaction removes the user's no-override marker, so the very next heartbeat reads the
   * override. (Removing an override needs nothing: the next heartbeat without a marker finds none
   * and writes it again.)
   */
  async set(userId: string, override: Override, now?: number): Promise<Override | null> {
    const keys = userKeys(this.prefix, userId);
    const key = keys.override;
    const fields: string[] = [];
    for (const field of FIELDS) {
      const value = override[field];
      if (value !== undefined) fields.push(field, String(value));
    }
    const multi = this.control
      .multi()
      .hgetall(key)
      .del(key)
      .hset(key, ...fields)
      .zrem(keys.entries, NO_OVERRIDE_MARKER);
    if (override.expiresAt !== undefined) multi.pexpireat(key, override.expiresAt);
    const results = await this.exec(multi);
    return this.live(fromHash(pairsFromReply(results[0])), now);
  }

  /** Removes the user's override; returns the one removed, or null when there was none. */
  async remove(userId: string, now?: number): Promise<Override | null> {
    const key = this.key(userId);
    const results = await this.exec(this.control.multi().hgetall(key).del(key));
    return this.live(fromHash(pairsFromReply(results[0])), now);
  }

  private key(userId: string): string {
    return userKeys(this.prefix, userId).override;
  }

  /** Redis drops an expired override itself; this covers the millisecond before it does. */
  private live(o: Override | null, now: number | undefined): Override | null {
    if (o?.expiresAt !== undefined && now !== undefined && o.expiresAt <= now) return null;
    return o;
  }

  private async exec(multi: ReturnType<RedisClient['multi']>): Promise<unknown[]> {
    const results = await storeCall(() => multi.exec());
    const failed = results?.find(([err]) => err);
    if (!results || failed) {
      throw new ConfigStoreError(failed?.[0] ?? new Error('override change was not applied'));
    }
    return results.map(([, value]) => value);
  }
}
