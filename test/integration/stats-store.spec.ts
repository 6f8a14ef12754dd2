import { startRedis, TestRedis } from '../support/redis-server';
import { BUCKET_SECONDS, StatsStore, WINDOW_SECONDS } from '../../src/stats/stats-store';

describe('StatsStore (console stats buckets in Redis)', () => {
  let redis: TestRedis;
  let store: StatsStore;

  beforeAll(async () => {
    redis = await startRedis();
    store = new StatsStore(redis.client, 'stats-test');
  });
  afterAll(() => redis.stop());

  it('sums what several instances add to one bucket, sets gauges, and expires the bucket', async () => {
    const now = await store.now();
    await store.write(now, { add: { 'd:basic:allow:admitted': 2 }, set: { 'a:basic': 5 } });
    await store.write(now, {
      add: { 'd:basic:allow:admitted': 3, 'd:basic:deny:limit_exceeded': 1 },
      set: { 'a:basic': 6 },
    });
    const buckets = await store.read(now);
    expect(buckets).toHaveLength(WINDOW_SECONDS / BUCKET_SECONDS);
    expect(buckets.at(-1)).toEqual({
      start: now - (now % BUCKET_SECONDS),
      fields: { 'd:basic:allow:admitted': 5, 'd:basic:deny:limit_exceeded': 1, 'a:basic': 6 },
    });
    const key = store.key(now - (now % BUCKET_SECONDS));
    expect(key).toContain('{console-stats}');
    const ttl = await redis.client.ttl(key);
    expect(ttl).toBeGreaterThan(WINDOW_SECONDS);
    expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS + 60);
  });

  it('reads the window only: a bucket older than 15 minutes is left out', async () => {
    const now = await store.now();
    const old = now - WINDOW_SECONDS - BUCKET_SECONDS;
    await store.write(old, { add: { 'd:old:allow:admitted': 7 }, set: {} });
    await store.write(now - 60, { add: { 'd:recent:allow:renewed': 4 }, set: {} });
    const buckets = await store.read(now);
    expect(buckets[0].start).toBeGreaterThan(old);
    const fields = buckets.flatMap((b) => Object.keys(b.fields));
    expect(fields).not.toContain('d:old:allow:admitted');
    const recent = buckets.find((b) => b.fields['d:recent:allow:renewed'] === 4);
    expect(recent?.start).toBe(now - 60 - ((now - 60) % BUCKET_SECONDS));
  });

  it('writes nothing for an empty flush', async () => {
    const before = await redis.client.dbsize();
    await store.write(await store.now(), { add: { 'd:x:allow:admitted': 0 }, set: {} });
    expect(await redis.client.dbsize()).toBe(before);
  });
});
