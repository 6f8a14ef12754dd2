import { ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../src/redis/local-redis';
import { exitOf, isRunning, killChild, pollUntil } from './child-process';
import { REPO_ROOT } from './dashboard-queries';
import { ADMIN_TOKEN, LICENSE_TOKEN } from './test-app';

/**
 * usher as its own process, the way a container runs it (`node src/main.ts` through ts-node, so
 * no build is needed): for what only a real process shows, such as signals and exit codes.
 */
export interface UsherProcess {
  port: number;
  baseUrl: string;
  child: ChildProcess;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGKILL unless it has exited already. */
  kill(): Promise<void>;
}

export interface UsherProcessOptions {
  redisUrl: string;
  /** More environment (USHER_*), on top of the tokens, secret and address set here. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => isRunning(child) && child.kill('SIGKILL')));

export async function startUsherProcess(options: UsherProcessOptions): Promise<UsherProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // Only what usher needs: none of the developer's own REDIS_URL or USHER_* leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    REDIS_URL: options.redisUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    USHER_LICENSE_SERVER_TOKENS: LICENSE_TOKEN,
    USHER_ADMIN_TOKENS: ADMIN_TOKEN,
    USHER_SESSION_ID_SECRET: 'test-secret',
    USHER_KEY_PREFIX: `p${Math.random().toString(36).slice(2, 8)}`,
    USHER_LOG_LEVEL: 'warn',
    // As in testConfig: a loaded CI machine must not turn a slow first call into `degraded`.
    USHER_STORE_TIMEOUT_MS: '5000',
    ...options.env,
  };
  let output = '';
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  void exitOf(child).then(() => running.delete(child));
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-50_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const usher: UsherProcess = {
    port,
    baseUrl,
    child,
    output: () => output,
    kill: () => killChild(child),
  };
  try {
    await pollUntil(
      `usher on ${baseUrl} ready`,
      async () =>
        (await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(1000) })).ok,
      options.readyTimeoutMs ?? 30_000,
      () => (isRunning(child) ? undefined : `exited with ${child.exitCode ?? child.signalCode}`),
    );
  } catch (err) {
    await usher.kill();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return usher;
}
