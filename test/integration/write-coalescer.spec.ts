import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis, { Cluster } from 'ioredis';
import {
  closeRedisClient,
  createRedisClient,
  RedisClient,
  waitUntilReady,
} from '../../src/redis/redis-connection';
import { MAX_BATCH, WriteCoalescer } from '../../src/redis/write-coalescer';
import { SessionStore } from '../../src/sessions/session-store';
import { startCluster, TestCluster } from '../support/redis-cluster';
import { startRedis, TestRedis } from '../support/redis-server';
import { startApp, testConfig } from '../support/test-app';

const COMMANDS = 50;

/** Redis' own count of the reads it made from client sockets (INFO stats). */
async function readsProcessed(client: Redis): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1]);
}

/** Waits until the app's start-up traffic (queue workers connecting) is over: <= 1 read in 50 ms. */
async function startUpSettled(client: Redis): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const before = await readsProcessed(client);
    await new Promise((r) => setTimeout(r, 50));
    if ((await readsProcessed(client)) - before <= 2) return;
  }
}

const values = (tag: string) => Array.from({ length: COMMANDS }, (_, i) => `${tag}-${i}`);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteCoalescer on a single node', () => {
  let redis: TestRedis;
  let client: Redis;
  let coalescer: WriteCoalescer;

  beforeAll(async () => {
    redis = await startRedis();
    client = createRedisClient(
      { mode: 'single', url: redis.url },
      { connectionName: 't' },
    ) as Redis;
    await waitUntilReady(client, 5000);
    coalescer = new WriteCoalescer(client);
  });
  afterAll(async () => {
    await closeRedisClient(client);
    await redis.stop();
  });

  it('the control: commands awaited one by one are one read each for Redis', async () => {
    const before = await readsProcessed(redis.client);
    for (const v of values('alone')) await client.echo(v);
    // + 1: the INFO that reads the counter is a read too.
    expect((await readsProcessed(redis.client)) - before).toBeGreaterThanOrEqual(COMMANDS + 1);
  });

  it("sends one turn's commands as one write, each answered with its own reply", async () => {
    const before = await readsProcessed(redis.client);
    new WriteCoalescer(client, COMMANDS).hold();
    const replies = await Promise.all(values('held').map((v) => client.echo(v)));
    const reads = (await readsProcessed(redis.client)) - before;
    expect(replies).toEqual(values('held'));
    expect(reads).toBeLessThanOrEqual(2);
  });

  it('lets a full batch go at once: 20 commands leave as 8, 8 and the last 4 at the turn end', async () => {
    const uncork = jest.spyOn(client.stream, 'uncork');
    const replies = values('batched')
      .slice(0, 20)
      .map((v) => {
        coalescer.hold();
        return client.echo(v);
      });
    expect(MAX_BATCH).toBe(8);
    expect(uncork).toHaveBeenCalledTimes(2);
    await nextTurn();
    expect(uncork).toHaveBeenCalledTimes(3);
    expect(await Promise.all(replies)).toEqual(values('batched').slice(0, 20));
    uncork.mockRestore();
  });

  it('holds for one turn only: the next turn writes at once again', async () => {
    coalescer.hold();
    const held = client.echo('held');
    expect(client.stream.writableCorked).toBe(1);
    await nextTurn();
    expect(client.stream.writableCorked).toBe(0);
    await expect(held).resolves.toBe('held');
    coalescer.hold();
    coalescer.hold(); // a second hold in the same turn corks nothing more
    expect(client.stream.writableCorked).toBe(1);
    await expect(client.echo('again')).resolves.toBe('again');
    expect(client.stream.writableCorked).toBe(0);
  });

  it('leaves a client that is not connected alone (its commands fail fast by themselves)', async () => {
    const down = createRedisClient(
      { mode: 'single', url: 'redis://127.0.0.1:1' },
      { connectionName: 't' },
    );
    down.on('error', () => undefined);
    expect(() => new WriteCoalescer(down).hold()).not.toThrow();
    await expect(down.echo('x')).rejects.toThrow();
    down.disconnect();
  });
});

describe("the session store's heartbeats", () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    redis = await startRedis();
    app = await startApp(testConfig(redis.url));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  it('of one turn reach Redis in batches, each decided for its own user', async () => {
    const store = app.get(SessionStore);
    const users = values('user');
    // The first script call on a connection is an EVAL carrying the script (ioredis); then EVALSHA.
    await store.heartbeat({ userId: 'warm-up', sessionId: 's', drm: 'widevine', release: false });
    await startUpSettled(redis.client);
    const before = await readsProcessed(redis.client);
    const decisions = await Promise.all(
      users.map((userId) =>
        store.heartbeat({ userId, sessionId: 's', drm: 'widevine', release: false }),
      ),
    );
    const reads = (await readsProcessed(redis.client)) - before;
    expect(decisions.map((d) => d.reason)).toEqual(users.map(() => 'admitted'));
    // 50 scripts in batches of MAX_BATCH, one read for INFO, and perhaps one background read
    // (plan-version poll, queue workers) in the window: never one read per heartbeat.
    expect(reads).toBeLessThanOrEqual(Math.ceil(COMMANDS / MAX_BATCH) + 2);
  });
});

describe('WriteCoalescer on a 3-master cluster', () => {
  let cluster: TestCluster;
  let client: RedisClient;
  let masters: Redis[];

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3 });
    client = createRedisClient(
      { mode: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) },
      { connectionName: 't' },
    );
    await waitUntilReady(client, 10_000);
    masters = cluster.nodes.map((n) => new Redis({ port: n.port, host: '127.0.0.1' }));
  }, 60_000);
  afterAll(async () => {
    await closeRedisClient(client);
    for (const m of masters) m.disconnect();
    await cluster.stop();
  });

  const keys = Array.from({ length: 60 }, (_, i) => `coalesced:${i}`);

  it("holds every master: a turn's commands reach each master in one write", async () => {
    expect(client).toBeInstanceOf(Cluster);
    const owners = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
    expect(owners.size).toBe(3); // the keys spread over every master
    await Promise.all(keys.map((k) => client.del(k))); // every master's connection is up
    // masterOf's short-lived connections count reads as they close: let them go first.
    await new Promise((r) => setTimeout(r, 300));
    const before = await Promise.all(masters.map(readsProcessed));
    new WriteCoalescer(client, keys.length).hold();
    const replies = await Promise.all(keys.map((k) => client.set(k, k)));
    const after = await Promise.all(masters.map(readsProcessed));
    expect(replies.every((r) => r === 'OK')).toBe(true);
    for (const [i, reads] of after.entries()) expect(reads - before[i]).toBeLessThanOrEqual(2);
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys);
  });
});
