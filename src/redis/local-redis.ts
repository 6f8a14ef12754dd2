import { ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** No Redis can be found or started: the message says what to do. */
export class NoLocalRedisError extends Error {}

export interface LocalRedis {
  url: string;
  /** Stops the private redis-server, if this process started one. */
  stop(): Promise<void>;
}

const MACHINE_REDIS_PORT = 6379;

/**
 * True when a Redis answers PING on host:port within timeoutMs. A bare socket rather than a
 * client: nothing (no reconnect timer) outlives the probe.
 */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const finish = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startPrivateRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await spawned;
  } catch {
    throw new NoLocalRedisError(
      'No Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379 and redis-server is not on PATH. ' +
        'Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
  }
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await pingRedis(port)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  process.once('exit', () => child.kill('SIGKILL'));
  return { url, stop };
}

/**
 * Development only (REDIS_URL unset, NODE_ENV not production): the Redis on 127.0.0.1:6379 if one
 * answers, else a private redis-server from PATH on a free port, else an error saying what to do.
 */
export async function findOrStartLocalRedis(): Promise<LocalRedis & { started: boolean }> {
  if (await pingRedis(MACHINE_REDIS_PORT)) {
    const url = `redis://127.0.0.1:${MACHINE_REDIS_PORT}`;
    return { url, stop: async () => undefined, started: false };
  }
  return { ...(await startPrivateRedis()), started: true };
}
