// Child processes of the bench (redis-server, usher, the raw reference): spawned on loopback
// ports, waited for, and always stopped: on normal exit, on an error and on Ctrl-C.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import Redis from 'ioredis';

const children = new Set();

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns a child whose output goes to logFile; it is killed when the bench exits. */
export function startChild(name, command, args, { env, logFile, cwd } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = logFile ? createWriteStream(logFile) : null;
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString()).slice(-4000);
    log?.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const entry = { name, child, tail: () => tail };
  children.add(entry);
  child.once('exit', () => {
    children.delete(entry);
    log?.end();
  });
  return {
    name,
    child,
    pid: child.pid,
    tail: () => tail,
    /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
    stop: (graceMs = 10_000) => stopChild(entry, graceMs),
  };
}

function stopChild({ child }, graceMs) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAll() {
  await Promise.all([...children].map((entry) => stopChild(entry, 5_000)));
}

let handlersInstalled = false;
/** Children never outlive the bench, whatever ends it. */
export function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const { child } of children) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

async function waitFor(name, check, timeoutMs, handle) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (handle && handle.child.exitCode !== null) {
      throw new Error(`${name} exited (code ${handle.child.exitCode}):\n${handle.tail()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  throw new Error(
    `${name} not ready after ${timeoutMs} ms (${lastError?.message ?? 'no answer'})\n${handle?.tail() ?? ''}`,
  );
}

/** A private redis-server on a free loopback port: no persistence, nothing shared with 6379. */
export async function startRedis({ logFile, args = [] } = {}) {
  const port = await freePort();
  if (port === 6379) throw new Error('refusing to use port 6379');
  const handle = startChild(
    'redis-server',
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
      '--protected-mode',
      'yes',
      '--logfile',
      '',
      ...args,
    ],
    { logFile },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  });
  client.on('error', () => undefined);
  await waitFor(
    'redis-server',
    async () => {
      if (client.status === 'wait') await client.connect();
      return (await client.ping()) === 'PONG';
    },
    10_000,
    handle,
  );
  return { ...handle, port, url, client };
}

/** Polls an HTTP URL until it answers 200. */
export async function waitForHttp(name, url, handle, timeoutMs = 60_000) {
  await waitFor(name, async () => (await fetch(url)).status === 200, timeoutMs, handle);
}
