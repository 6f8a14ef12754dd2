import { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisOptions } from 'ioredis';
import { freePort } from '../../src/redis/local-redis';
import { createRedisClient, waitUntilReady } from '../../src/redis/redis-connection';
import { userKeys } from '../../src/redis/user-keys';
import { askWith, killProcess, startCluster, TestCluster, waitFor } from '../support/redis-cluster';
import { spawnRedis } from '../support/redis-server';
import { catalog, plan, testConfig } from '../support/test-app';
import { makeCertificates, TestCertificates, tlsServerArgs } from '../support/tls-certs';
import {
  freshUser,
  heartbeat,
  readiness,
  startInstance,
  UsherInstance,
} from '../support/usher-http';

/**
 * Auth and TLS options (issue [scale]): rediss:// and REDIS_TLS with REDIS_TLS_CA_FILE,
 * REDIS_USERNAME / REDIS_PASSWORD(_FILE), on a single node and on a Redis Cluster, against real
 * servers that refuse anything else.
 */
const PLANS = catalog(plan('basic', { maxStreams: 2 }));

/** One redis-server with the given arguments, reached with `client` options once it answers. */
async function startServer(args: (port: number) => string[], client: RedisOptions, dir: string) {
  const port = await freePort();
  const child = spawnRedis(port, args(port), dir);
  await waitFor(
    `redis-server on ${port}`,
    async () => (await askWith(client, port, 'PING')) === 'PONG',
    10_000,
  );
  return { port, child };
}

/** Starts usher on `env`, checks it admits then renews a session, and closes it. */
async function decides(env: Record<string, string>): Promise<UsherInstance> {
  const instance = await startInstance(testConfig(env, { plans: PLANS }));
  const userId = freshUser('secure');
  expect((await heartbeat(instance, { userId, sessionId: 'a' })).body.reason).toBe('admitted');
  expect((await heartbeat(instance, { userId, sessionId: 'a' })).body.reason).toBe('renewed');
  expect(await readiness(instance)).toMatchObject({ status: 200, body: { store: 'up' } });
  return instance;
}

describe('Redis auth and TLS', () => {
  let dir: string;
  let certs: TestCertificates;
  const children: ChildProcess[] = [];
  const instances: UsherInstance[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'usher-security-'));
    certs = await makeCertificates(dir);
  });
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((i) => i.close()));
  });
  afterAll(async () => {
    await Promise.all(children.map(killProcess));
    rmSync(dir, { recursive: true, force: true });
  });

  describe('single node over TLS', () => {
    let port: number;
    beforeAll(async () => {
      const server = await startServer(
        (p) => tlsServerArgs(p, certs),
        { tls: { ca: certs.ca } },
        dir,
      );
      children.push(server.child);
      port = server.port;
    });

    it('decides heartbeats with a rediss:// REDIS_URL and REDIS_TLS_CA_FILE', async () => {
      instances.push(
        await decides({ REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_TLS_CA_FILE: certs.caFile }),
      );
    });

    it('verifies the server certificate: without the CA the connection is refused', async () => {
      const client = createRedisClient(
        { mode: 'single', url: `rediss://127.0.0.1:${port}`, tls: true },
        { commandTimeoutMs: 100, connectionName: 'usher-test' },
      );
      const errors: string[] = [];
      client.on('error', (err: Error) => errors.push(err.message));
      try {
        await expect(waitUntilReady(client, 1000)).rejects.toThrow(/not ready/);
        expect(errors.join('\n')).toMatch(/self[- ]signed certificate/);
      } finally {
        client.disconnect();
      }
    });
  });

  describe('single node with requirepass and an ACL user', () => {
    let port: number;
    beforeAll(async () => {
      const server = await startServer(
        () => [
          '--requirepass',
          'default-pw',
          ...['--user', 'usher', 'on', '>usher-pw', '~*', '&*', '+@all'],
        ],
        { password: 'default-pw' },
        dir,
      );
      children.push(server.child);
      port = server.port;
    });

    it('REDIS_PASSWORD_FILE fills in the password a plain REDIS_URL leaves out', async () => {
      const file = join(dir, 'redis-password');
      writeFileSync(file, 'default-pw\n');
      instances.push(
        await decides({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PASSWORD_FILE: file }),
      );
    });

    it('REDIS_USERNAME + REDIS_PASSWORD log in as the ACL user', async () => {
      instances.push(
        await decides({
          REDIS_URL: `redis://127.0.0.1:${port}`,
          REDIS_USERNAME: 'usher',
          REDIS_PASSWORD: 'usher-pw',
        }),
      );
      const clients = String(await askWith({ password: 'default-pw' }, port, 'CLIENT', 'LIST'));
      expect(clients).toMatch(/name=usher-hot .*user=usher /);
    });

    it("the URL's own credentials win over REDIS_USERNAME / REDIS_PASSWORD", async () => {
      instances.push(
        await decides({
          REDIS_URL: `redis://usher:usher-pw@127.0.0.1:${port}`,
          REDIS_PASSWORD: 'wrong',
        }),
      );
    });
  });

  describe('3-master cluster over TLS with a password', () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster({
        masters: 3,
        access: {
          serverArgs: (port) => [
            ...tlsServerArgs(port, certs),
            ...['--tls-cluster', 'yes', '--tls-replication', 'yes'],
            ...['--requirepass', 'cluster-pw', '--masterauth', 'cluster-pw'],
          ],
          cliArgs: ['--tls', '--cacert', certs.caFile, '-a', 'cluster-pw', '--no-auth-warning'],
          client: { tls: { ca: certs.ca }, password: 'cluster-pw' },
        },
      });
    }, 60_000);
    afterAll(() => cluster?.stop());

    it('decides heartbeats of users on every master (REDIS_TLS, REDIS_TLS_CA_FILE, REDIS_PASSWORD)', async () => {
      const config = testConfig(
        {
          ...cluster.env,
          REDIS_TLS: 'true',
          REDIS_TLS_CA_FILE: certs.caFile,
          REDIS_PASSWORD: 'cluster-pw',
        },
        { plans: PLANS },
      );
      const instance = await startInstance(config);
      instances.push(instance);
      const masters = new Set<number>();
      // Draw users until every master owns one (random ids: a fixed count can miss one).
      for (let i = 0; masters.size < 3 && i < 200; i++) {
        const userId = freshUser(`tls${i}`);
        masters.add(await cluster.masterOf(userKeys(config.keyPrefix, userId).entries));
        expect((await heartbeat(instance, { userId, sessionId: 'a' })).body.reason).toBe(
          'admitted',
        );
      }
      expect(masters.size).toBe(3);
      expect(await readiness(instance)).toMatchObject({ status: 200, body: { store: 'up' } });
    });
  });
});
