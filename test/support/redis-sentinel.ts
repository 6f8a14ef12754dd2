import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/redis/local-redis';
import { ask, killProcess, waitFor } from './redis-cluster';
import { spawnRedis, waitForPing } from './redis-server';

export interface SentinelOptions {
  /** Sentinels watching the master (1 is enough for a forced SENTINEL FAILOVER). */
  sentinels?: number;
}

/** 1 master + 1 replica + sentinels on free loopback ports, started by the tests. */
export interface TestSentinel {
  masterName: string;
  /** Store env for testConfig / AppConfig (REDIS_SENTINELS, REDIS_SENTINEL_MASTER). */
  env: Record<string, string>;
  sentinelPorts: number[];
  /** The data node the sentinels currently name as master. */
  masterPort(): Promise<number>;
  /** Forces a failover (SENTINEL FAILOVER) and resolves with the new master once it is writable. */
  failover(): Promise<number>;
  /** SIGKILLs the data node on `port` (a crash; Sentinel fails over after 1 s down). */
  kill(port: number): Promise<void>;
  /** Resolves with the new master once the sentinels name one other than `before` and it is one. */
  newMasterThan(before: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const MASTER_NAME = 'usher-test';
const REPLICATION = ['--repl-diskless-sync-delay', '0'];

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function startSentinel(options: SentinelOptions = {}): Promise<TestSentinel> {
  const root = mkdtempSync(join(tmpdir(), 'usher-sentinel-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(killProcess));
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
  const dirFor = (name: string) => {
    const dir = join(root, name);
    mkdirSync(dir);
    return dir;
  };

  try {
    const master = await freePort();
    const replica = await freePort();
    const dataNodes = new Map<number, ChildProcess>([
      [master, spawnRedis(master, REPLICATION, dirFor('master'))],
      [
        replica,
        spawnRedis(
          replica,
          ['--replicaof', '127.0.0.1', String(master), ...REPLICATION],
          dirFor('replica'),
        ),
      ],
    ]);
    children.push(...dataNodes.values());
    await Promise.all([waitForPing(master), waitForPing(replica)]);

    const count = options.sentinels ?? 1;
    const sentinelPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const dir = dirFor(`sentinel-${i}`);
      const conf = join(dir, 'sentinel.conf');
      // Sentinel rewrites its config file, so each one gets its own writable copy.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master} ${Math.floor(count / 2) + 1}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      child.on('error', () => undefined);
      children.push(child);
      sentinelPorts.push(port);
    }
    await Promise.all(sentinelPorts.map((p) => waitForPing(p)));

    const masterPort = async () => {
      const [, port] = (await ask(
        sentinelPorts[0],
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        MASTER_NAME,
      )) as [string, string];
      return Number(port);
    };
    const inSync = async (port: number) =>
      infoField(String(await ask(port, 'INFO', 'replication')), 'master_link_status') === 'up';
    const knowsReplica = async (sentinel: number) => {
      const replicas = (await ask(sentinel, 'SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
      return replicas.some((fields) => {
        const flags = fields[fields.indexOf('flags') + 1] ?? '';
        return !/s_down|o_down|disconnected/.test(flags);
      });
    };
    await waitFor('replica in sync', () => inSync(replica), 10_000);
    await waitFor(
      'every sentinel knows the replica',
      async () => (await Promise.all(sentinelPorts.map(knowsReplica))).every(Boolean),
      15_000,
    );

    const newMasterThan = async (before: number, timeoutMs = 15_000) => {
      let after = before;
      await waitFor(
        'sentinel failover',
        async () => {
          after = await masterPort();
          if (after === before) return false;
          const role = infoField(String(await ask(after, 'INFO', 'replication')), 'role');
          return role === 'master';
        },
        timeoutMs,
      );
      return after;
    };

    return {
      masterName: MASTER_NAME,
      env: {
        REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
        REDIS_SENTINEL_MASTER: MASTER_NAME,
      },
      sentinelPorts,
      masterPort,
      failover: async () => {
        const before = await masterPort();
        await ask(sentinelPorts[0], 'SENTINEL', 'FAILOVER', MASTER_NAME);
        return newMasterThan(before);
      },
      kill: async (port) => {
        const child = dataNodes.get(port);
        if (!child) throw new Error(`no data node on ${port}`);
        await killProcess(child);
      },
      newMasterThan,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
