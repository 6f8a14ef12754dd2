import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, pingRedis } from '../../src/redis/local-redis';

/** A private redis-server on a free loopback port: tests never touch the machine's 6379. */
export interface TestRedis {
  port: number;
  url: string;
  /** A plain client for assertions (quit by stop()). */
  client: Redis;
  /** Kills the server (SIGKILL), e.g. to simulate an outage. */
  kill(): Promise<void>;
  /** Starts it again on the same port after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function waitForPing(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pingRedis(port))) {
    if (Date.now() > deadline) {
      throw new Error(`redis-server on ${port} did not start (is redis-server on PATH?)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function spawnRedis(port: number, extraArgs: string[] = [], dir?: string): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(dir ? ['--dir', dir] : []),
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  // A missing binary surfaces as waitForPing's "did not start" error.
  child.on('error', () => undefined);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'usher-redis-'));
  let child = spawnRedis(port, extraArgs, dir);
  await waitForPing(port);
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const kill = async () => {
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    kill,
    restart: async () => {
      child = spawnRedis(port, extraArgs, dir);
      await waitForPing(port);
    },
    stop: async () => {
      client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
