import { ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis, { RedisOptions } from 'ioredis';
import { freePort } from '../../src/redis/local-redis';
import { spawnRedis } from './redis-server';

const run = promisify(execFile);

/** One redis-server process of a test deployment (cluster or sentinel). */
export interface RedisProcess {
  port: number;
  child: ChildProcess;
}

export interface ClusterNode extends RedisProcess {
  /** Bus port (cluster-port): chosen free too, since port + 10000 may be taken or invalid. */
  busPort: number;
}

/** How nodes that want TLS or a password are started and reached (default: plain, no auth). */
export interface NodeAccess {
  /** redis-server arguments for the node on `port` (TLS ports, requirepass, masterauth). */
  serverArgs?: (port: number) => string[];
  /** redis-cli arguments for `--cluster create` (--tls --cacert ..., -a ...). */
  cliArgs?: string[];
  /** ioredis options of the test plumbing connections (tls, password). */
  client?: RedisOptions;
}

export interface ClusterOptions {
  masters?: number;
  /** Replicas per master; failover tests need at least 1. */
  replicas?: number;
  access?: NodeAccess;
}

/** A private Redis Cluster on loopback, started by the tests: never the machine's Redis. */
export interface TestCluster {
  nodes: ClusterNode[];
  /** Store env for testConfig / AppConfig (REDIS_CLUSTER_NODES, masters and replicas). */
  env: Record<string, string>;
  /** The port of the node currently serving `key`'s slot as master. */
  masterOf(key: string): Promise<number>;
  /** The ports of the replicas of the master on `port`. */
  replicasOf(port: number): Promise<number[]>;
  /** SIGKILLs one node (a crash: no failover handshake, no goodbye). */
  kill(port: number): Promise<void>;
  /** Resolves when every live node reports cluster_state:ok and every slot has a live master. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One command on a short-lived connection (test plumbing, not the code under test). */
export function ask(port: number, ...args: (string | number)[]): Promise<unknown> {
  return askWith({}, port, ...args);
}

/** ask() with connection options (TLS, password). */
export async function askWith(
  options: RedisOptions,
  port: number,
  ...args: (string | number)[]
): Promise<unknown> {
  const client = new Redis({
    ...options,
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(String(args[0]), ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Polls `check` until it returns true; throws `what` after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export async function killProcess(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGKILL also ends a process stopped with SIGSTOP.
  child.kill('SIGKILL');
  await exited;
}

type Ask = (port: number, ...args: (string | number)[]) => Promise<unknown>;

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: [number, number][];
}

/** CLUSTER NODES, as one node sees the cluster. */
async function clusterNodes(q: Ask, port: number): Promise<NodeLine[]> {
  const text = String(await q(port, 'CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        flags: flags.split(','),
        masterId,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => s.split('-').map(Number))
          .map(([from, to]) => [from, to ?? from] as [number, number]),
      };
    });
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Starts masters × (1 + replicas) cluster nodes with a 1 s node timeout (a killed master's replica
 * is promoted after ~2-3 s), joins them with `redis-cli --cluster create` and waits until every
 * node says cluster_state:ok and every replica is in sync with its master.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const access = options.access ?? {};
  const q: Ask = (port, ...args) => askWith(access.client ?? {}, port, ...args);
  const dir = mkdtempSync(join(tmpdir(), 'usher-cluster-'));
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => killProcess(n.child)));
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => nodes.forEach((n) => alive(n.child) && n.child.kill('SIGKILL')));
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const busPort = await freePort();
      const child = spawnRedis(
        port,
        [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '1000',
          // A replica may always take over, however long ago it last heard from its master.
          '--cluster-replica-validity-factor',
          '0',
          // Replicas sync at once instead of after the default 5 s diskless-sync delay.
          '--repl-diskless-sync-delay',
          '0',
          ...(access.serverArgs?.(port) ?? []),
        ],
        dir,
      );
      nodes.push({ port, busPort, child });
    }
    await Promise.all(
      nodes.map((n) =>
        waitFor(`node ${n.port} answers`, async () => (await q(n.port, 'PING')) === 'PONG', 10_000),
      ),
    );
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
        ...(access.cliArgs ?? []),
      ],
      { timeout: 30_000 },
    );
    const { healthy, ...cluster } = clusterHandle(nodes, q, stop);
    await waitFor(
      `cluster up with ${replicas} replica(s) per master`,
      () => healthy(replicas),
      30_000,
    );
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

function clusterHandle(
  nodes: ClusterNode[],
  q: Ask,
  stop: () => Promise<void>,
): TestCluster & {
  healthy(replicas: number): Promise<boolean>;
} {
  const live = () => nodes.filter((n) => alive(n.child));
  const anyLive = () => {
    const node = live()[0];
    if (!node) throw new Error('no cluster node is running');
    return node.port;
  };
  const failed = (n: NodeLine) => n.flags.includes('fail') || n.flags.includes('fail?');

  const masterOf = async (key: string) => {
    const port = anyLive();
    const slot = Number(await q(port, 'CLUSTER', 'KEYSLOT', key));
    const master = (await clusterNodes(q, port)).find(
      (n) => n.flags.includes('master') && n.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!master) throw new Error(`slot ${slot} has no master`);
    return master.port;
  };

  const replicasOf = async (masterPort: number) => {
    const all = await clusterNodes(q, anyLive());
    const master = all.find((n) => n.port === masterPort);
    return all.filter((n) => master && n.masterId === master.id && !failed(n)).map((n) => n.port);
  };

  const healthy = async (replicas: number) => {
    const livePorts = new Set(live().map((n) => n.port));
    for (const port of livePorts) {
      const info = String(await q(port, 'CLUSTER', 'INFO'));
      if (infoField(info, 'cluster_state') !== 'ok') return false;
      const replication = String(await q(port, 'INFO', 'replication'));
      if (
        infoField(replication, 'role') === 'slave' &&
        infoField(replication, 'master_link_status') !== 'up'
      ) {
        return false;
      }
    }
    // Every slot served by a live master with its replicas (while any are still running).
    const all = await clusterNodes(q, anyLive());
    let covered = 0;
    for (const master of all.filter((n) => n.flags.includes('master') && n.slots.length)) {
      if (!livePorts.has(master.port) || failed(master)) return false;
      covered += master.slots.reduce((sum, [from, to]) => sum + to - from + 1, 0);
      const attached = all.filter((n) => n.masterId === master.id && !failed(n)).length;
      if (attached < replicas) return false;
    }
    return covered === 16384;
  };

  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') },
    masterOf,
    replicasOf,
    kill: async (port) => {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on ${port}`);
      await killProcess(node.child);
    },
    waitUntilHealthy: (timeoutMs = 15_000) =>
      waitFor('every slot served by a live master', () => healthy(0), timeoutMs),
    healthy,
    stop,
  };
}
