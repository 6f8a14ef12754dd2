import { RedisClient } from '../redis/redis-connection';

/** Width of one time bucket of the console's decision counts. */
export const BUCKET_SECONDS = 10;
/** The window the overview shows. */
export const WINDOW_SECONDS = 15 * 60;
/** A bucket outlives the window by one minute, then Redis drops it. */
const BUCKET_TTL_SECONDS = WINDOW_SECONDS + 60;

/** What one instance adds to the current bucket: counters to add, gauges to set. */
export interface BucketWrite {
  /** field → amount to add (HINCRBY). */
  add: Record<string, number>;
  /** field → value to set (HSET); for cluster-wide values that every instance knows alike. */
  set: Record<string, number>;
}

/** One bucket as read back: its start (Unix seconds) and its fields. */
export interface Bucket {
  start: number;
  fields: Record<string, number>;
}

/**
 * The console's decision counts in Redis: one hash per 10-second bucket, all under one hash tag
 * (one Cluster slot, so a pipeline of them goes to one node), each with a TTL just past the
 * window. Instances add to the current bucket every few seconds, never per heartbeat.
 */
export class StatsStore {
  private readonly base: string;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
  ) {
    this.base = `${prefix}:{console-stats}`;
  }

  key(bucketStart: number): string {
    return `${this.base}:${bucketStart}`;
  }

  /** The Redis server's clock in whole seconds. */
  async now(): Promise<number> {
    const [seconds] = await this.client.time();
    return Number(seconds);
  }

  /** Adds one instance's counts to the bucket holding `nowSeconds`, in one pipeline. */
  async write(nowSeconds: number, write: BucketWrite): Promise<void> {
    const key = this.key(bucketStart(nowSeconds));
    const pipeline = this.client.pipeline();
    for (const [field, amount] of Object.entries(write.add)) {
      if (amount !== 0) pipeline.hincrby(key, field, amount);
    }
    if (Object.keys(write.set).length) pipeline.hset(key, write.set);
    if (pipeline.length === 0) return;
    pipeline.expire(key, BUCKET_TTL_SECONDS);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** The buckets of the window ending at `nowSeconds`, oldest first (empty ones included). */
  async read(nowSeconds: number): Promise<Bucket[]> {
    const last = bucketStart(nowSeconds);
    const starts: number[] = [];
    for (let s = last - WINDOW_SECONDS + BUCKET_SECONDS; s <= last; s += BUCKET_SECONDS) {
      starts.push(s);
    }
    const pipeline = this.client.pipeline();
    for (const start of starts) pipeline.hgetall(this.key(start));
    const results = (await pipeline.exec()) ?? [];
    return starts.map((start, i) => {
      const [err, value] = results[i] ?? [new Error('no answer'), null];
      if (err) throw err;
      const fields: Record<string, number> = {};
      for (const [field, raw] of Object.entries((value ?? {}) as Record<string, string>)) {
        fields[field] = Number(raw);
      }
      return { start, fields };
    });
  }
}

export function bucketStart(nowSeconds: number): number {
  return nowSeconds - (nowSeconds % BUCKET_SECONDS);
}
