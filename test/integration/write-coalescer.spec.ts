import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis, { Cluster } from 'ioredis';
import { freePort } from '../../src/redis/local-redis';
import {
  closeRedisClient,
  createRedisClient,
  RedisClient,
  waitUntilReady,
} from '../../src/redis/redis-connection';
import { MAX_BATCH, WriteCoalescer } from '../../src/redis/write-coalescer';
import { SessionStore } from '../../src/sessions/session-store';
import { askWith, killProcess, startCluster, TestCluster, waitFor } from '../support/redis-cluster';
import { spawnRedis, startRedis, TestRedis } from '../support/redis-server';
import { makeCertificates, tlsServerArgs } from '../support/tls-certs';
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

  /** Each command sent through the coalescer, as SessionStore issues them. */
  const issue = (c: WriteCoalescer, tag: string, count = COMMANDS) =>
    values(tag)
      .slice(0, count)
      .map((v) => c.send(() => client.echo(v)));

  it('sends a command that finds Redis idle at once: nothing waits for the turn to end', () => {
    const alone = coalescer.send(() => client.echo('alone'));
    expect(client.stream.writableCorked).toBe(0);
    return expect(alone).resolves.toBe('alone');
  });

  it('gathers the commands issued while Redis is busy into one write, each with its reply', async () => {
    const before = await readsProcessed(redis.client);
    const replies = await Promise.all(issue(new WriteCoalescer(client, COMMANDS), 'held'));
    const reads = (await readsProcessed(redis.client)) - before;
    expect(replies).toEqual(values('held'));
    // The first command (Redis idle), the other 49 together, and the INFO.
    expect(reads).toBeLessThanOrEqual(3);
  });

  it('lets a full batch go at once: after the first, 19 commands leave as 8, 8 and 3', async () => {
    const uncork = jest.spyOn(client.stream, 'uncork');
    const replies = issue(coalescer, 'batched', 20);
    expect(MAX_BATCH).toBe(8);
    expect(uncork).toHaveBeenCalledTimes(2);
    await nextTurn();
    expect(uncork).toHaveBeenCalledTimes(3);
    expect(await Promise.all(replies)).toEqual(values('batched').slice(0, 20));
    uncork.mockRestore();
  });

  it('holds for one turn only: the next turn starts afresh', async () => {
    const [first, held] = issue(coalescer, 'turn', 2);
    expect(client.stream.writableCorked).toBe(1);
    await nextTurn();
    expect(client.stream.writableCorked).toBe(0);
    await expect(Promise.all([first, held])).resolves.toEqual(['turn-0', 'turn-1']);
    await coalescer.send(() => client.echo('after'));
    expect(client.stream.writableCorked).toBe(0); // nothing in flight: no cork
  });

  it('leaves a client that is not connected alone (its commands fail fast by themselves)', async () => {
    const down = createRedisClient(
      { mode: 'single', url: 'redis://127.0.0.1:1' },
      { connectionName: 't' },
    );
    down.on('error', () => undefined);
    await expect(new WriteCoalescer(down).send(() => down.echo('x'))).rejects.toThrow();
    down.disconnect();
  });
});

describe('WriteCoalescer over TLS', () => {
  let dir: string;
  let server: ChildProcess;
  let client: Redis;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'usher-coalescer-tls-'));
    const certs = await makeCertificates(dir);
    const port = await freePort();
    server = spawnRedis(port, tlsServerArgs(port, certs), dir);
    await waitFor(
      'TLS redis-server',
      async () => (await askWith({ tls: { ca: certs.ca } }, port, 'PING')) === 'PONG',
      10_000,
    );
    client = createRedisClient(
      { mode: 'single', url: `rediss://127.0.0.1:${port}`, tls: true, tlsCa: certs.ca },
      { connectionName: 't' },
    ) as Redis;
    await waitUntilReady(client, 5000);
  });
  afterAll(async () => {
    await closeRedisClient(client);
    await killProcess(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('corks the TLS socket alike: batches of 8, every reply to its own command', async () => {
    const coalescer = new WriteCoalescer(client);
    const uncork = jest.spyOn(client.stream, 'uncork');
    const replies = values('tls')
      .slice(0, 20)
      .map((v) => coalescer.send(() => client.echo(v)));
    expect(uncork).toHaveBeenCalledTimes(2);
    await nextTurn();
    expect(uncork).toHaveBeenCalledTimes(3);
    expect(await Promise.all(replies)).toEqual(values('tls').slice(0, 20));
    uncork.mockRestore();
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
    // The first script alone, the other 49 in batches of MAX_BATCH, one read for INFO, and perhaps
    // one background read (plan-version poll, queue workers): never one read per heartbeat.
    expect(reads).toBeLessThanOrEqual(1 + Math.ceil((COMMANDS - 1) / MAX_BATCH) + 2);
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

  it("holds every busy master: a turn's commands reach each master in few writes", async () => {
    expect(client).toBeInstanceOf(Cluster);
    const owners = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
    expect(owners.size).toBe(3); // the keys spread over every master
    await Promise.all(keys.map((k) => client.del(k))); // every master's connection is up
    // masterOf's short-lived connections count reads as they close: let them go first.
    await new Promise((r) => setTimeout(r, 300));
    const before = await Promise.all(masters.map(readsProcessed));
    const coalescer = new WriteCoalescer(client, keys.length);
    const replies = await Promise.all(keys.map((k) => coalescer.send(() => client.set(k, k))));
    const after = await Promise.all(masters.map(readsProcessed));
    expect(replies.every((r) => r === 'OK')).toBe(true);
    // Per master: its first command (nothing in flight there yet), the rest together, the INFO.
    for (const [i, reads] of after.entries()) expect(reads - before[i]).toBeLessThanOrEqual(3);
    expect(await Promise.all(keys.map((k) => client.get(k)))).toEqual(keys);
  });
});
