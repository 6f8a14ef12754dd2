import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { exitOf, ChildExit } from '../support/child-process';
import { startRedis, TestRedis } from '../support/redis-server';
import { LICENSE_TOKEN } from '../support/test-app';
import { startUsherProcess, UsherProcess } from '../support/usher-process';

/**
 * Issue 8: SIGTERM under load loses no in-flight request. The real service as a process
 * (`node src/main.ts`), the way Kubernetes stops a pod: SIGTERM, then the grace period.
 */

const GRACE_MS = 10_000;
/** Long enough that every in-flight heartbeat waits on Redis, never so long it degrades. */
const STORE_TIMEOUT_MS = 3000;
const IN_FLIGHT = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Attempt {
  /** ms since the test's time origin (performance.now()), as is every time below. */
  sentAt: number;
  endedAt: number;
  status?: number;
  body?: { decision?: string; reason?: string };
  error?: string;
}

interface HeartbeatCall {
  /** Resolves when the request has been handed to the kernel (fully written). */
  written: Promise<void>;
  done: Promise<Attempt>;
}

/** POST /v1/heartbeats on `agent`'s keep-alive connections; never rejects: errors are recorded. */
function postHeartbeat(usher: UsherProcess, agent: Agent, body: object): HeartbeatCall {
  const payload = JSON.stringify(body);
  const sentAt = performance.now();
  let onWritten: () => void = () => undefined;
  const written = new Promise<void>((resolve) => (onWritten = resolve));
  const done = new Promise<Attempt>((resolve) => {
    const end = (result: Omit<Attempt, 'sentAt' | 'endedAt'>) =>
      resolve({ sentAt, endedAt: performance.now(), ...result });
    const req = request(
      {
        host: '127.0.0.1',
        port: usher.port,
        method: 'POST',
        path: '/v1/heartbeats',
        agent,
        timeout: GRACE_MS,
        headers: {
          authorization: `Bearer ${LICENSE_TOKEN}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: Attempt['body'];
          try {
            parsed = JSON.parse(text) as Attempt['body'];
          } catch {
            parsed = undefined;
          }
          end({ status: res.statusCode, body: parsed });
        });
        res.on('error', (err: NodeJS.ErrnoException) => end({ error: err.code ?? err.message }));
      },
    );
    req.on('finish', onWritten);
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      onWritten();
      end({ error: err.code ?? err.message });
    });
    req.end(payload);
  });
  return { written, done };
}

/** Opens `count` keep-alive connections on `agent` (parallel health checks) and leaves them idle. */
async function openConnections(usher: UsherProcess, agent: Agent, count: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: usher.port, path: '/health/live', agent },
            (res) => res.resume().on('end', resolve),
          );
          req.on('error', reject);
          req.end();
        }),
    ),
  );
}

function connectionRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** How the child exited, or 'still running' after `ms` (the timer does not outlive the answer). */
async function exitWithin(usher: UsherProcess, ms: number): Promise<ChildExit | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), ms);
  });
  try {
    return await Promise.race([exitOf(usher.child), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('graceful shutdown (SIGTERM) of the usher process', () => {
  let redis: TestRedis;
  const children: UsherProcess[] = [];
  const agents: Agent[] = [];
  const start = async () => {
    const usher = await startUsherProcess({
      redisUrl: redis.url,
      env: {
        USHER_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
        USHER_SHUTDOWN_GRACE_MS: String(GRACE_MS),
        USHER_FAIL_MODE: 'open',
      },
    });
    children.push(usher);
    return usher;
  };
  const keepAliveAgent = (maxSockets: number) => {
    const agent = new Agent({ keepAlive: true, maxSockets });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    // DEBUG SLEEP blocks Redis so that heartbeats are provably in flight at the SIGTERM.
    redis = await startRedis(['--enable-debug-command', 'yes']);
  });

  afterAll(async () => {
    agents.forEach((agent) => agent.destroy());
    await Promise.all(children.map((usher) => usher.kill()));
    await redis?.stop();
  });

  it(`answers all ${IN_FLIGHT} heartbeats waiting on Redis at SIGTERM, then exits 0`, async () => {
    const usher = await start();
    // One keep-alive connection per heartbeat (HTTP/1.1 answers one request at a time on each).
    const busy = keepAliveAgent(IN_FLIGHT);
    const idle = keepAliveAgent(4);
    await openConnections(usher, busy, IN_FLIGHT);
    // Idle keep-alive connections at SIGTERM must not hold the shutdown up.
    await openConnections(usher, idle, 4);

    const scriptsBefore = await scriptCalls(redis);
    const redisAsleep = redis.client.call('DEBUG', 'SLEEP', '0.7');
    await sleep(20);
    const calls = Array.from({ length: IN_FLIGHT }, (_, i) =>
      postHeartbeat(usher, busy, {
        userId: `drain-user-${i}`,
        drm: i % 2 ? 'widevine' : 'fairplay',
        messageType: 'license-request',
        sessionId: `drain-session-${i}`,
        deviceId: `drain-device-${i}`,
      }),
    );
    await Promise.all(calls.map((call) => call.written));
    await sleep(100); // usher reads them and sends each script to the sleeping Redis
    const sigtermAt = performance.now();
    usher.child.kill('SIGTERM');

    const attempts = await Promise.all(calls.map((call) => call.done));
    await redisAsleep;
    const exit = await exitWithin(usher, GRACE_MS + 5000);
    const exitedAt = performance.now();
    console.log(
      `${attempts.filter((a) => a.status === 200).length}/${IN_FLIGHT} in-flight heartbeats ` +
        `answered 200; ` +
        `exit ${JSON.stringify(exit)} ${Math.round(exitedAt - sigtermAt)} ms after SIGTERM ` +
        `(grace ${GRACE_MS} ms)`,
    );

    // In flight: sent before the SIGTERM, answered after it (Redis slept until then).
    expect(attempts.filter((a) => a.sentAt >= sigtermAt || a.endedAt <= sigtermAt)).toEqual([]);
    expect(
      attempts.map((a) => `${a.status ?? a.error} ${a.body?.decision}/${a.body?.reason}`),
    ).toEqual(Array.from({ length: IN_FLIGHT }, () => '200 allow/admitted'));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await connectionRefused(usher.port)).toBe('ECONNREFUSED');
    // Every heartbeat ran its script: each answer is a real decision, stored in Redis.
    expect((await scriptCalls(redis)) - scriptsBefore).toBeGreaterThanOrEqual(IN_FLIGHT);
  }, 40_000);

  it('under a load loop, every answer is a 200 and the only errors are refusals after SIGTERM', async () => {
    const usher = await start();
    const CLIENTS = 8;
    const LOAD_MS = 2000;
    const attempts: Attempt[] = [];
    const began = performance.now();
    let sigtermAt = Infinity;

    const client = async (c: number) => {
      const agent = keepAliveAgent(1);
      for (let i = 0; performance.now() - began < LOAD_MS; i++) {
        const attempt = await postHeartbeat(usher, agent, {
          userId: `load-user-${c}`,
          drm: 'widevine',
          messageType: i === 0 ? 'license-request' : 'license-renewal',
          sessionId: `load-session-${c}`,
        }).done;
        attempts.push(attempt);
        // A refused client backs off a little, as a license server's HTTP client would.
        if (attempt.error) await sleep(20);
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    await sleep(LOAD_MS / 2);
    sigtermAt = performance.now();
    usher.child.kill('SIGTERM');
    await load;
    const exit = await exitWithin(usher, GRACE_MS + 5000);

    const answered = attempts.filter((a) => a.status !== undefined);
    const failed = attempts.filter((a) => a.error !== undefined);
    console.log(
      `load loop: ${attempts.length} requests, ${answered.length} answered ` +
        `(${answered.filter((a) => a.endedAt > sigtermAt).length} after SIGTERM), ` +
        `${failed.length} failed (${[...new Set(failed.map((a) => a.error))].join(', ')}); ` +
        `exit ${JSON.stringify(exit)}`,
    );

    expect(answered.length).toBeGreaterThan(CLIENTS);
    expect(
      answered
        .map((a) => `${a.status} ${a.body?.decision}`)
        .filter((outcome) => outcome !== '200 allow'),
    ).toEqual([]);
    // A connection refused or reset is the client's cue to go to another instance; it may only
    // happen once the instance is stopping, and never to a request sent before that.
    expect(failed.filter((a) => !['ECONNREFUSED', 'ECONNRESET'].includes(a.error ?? ''))).toEqual(
      [],
    );
    expect(failed.filter((a) => a.endedAt < sigtermAt || a.sentAt < sigtermAt)).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 40_000);
});

/** Script runs so far (EVALSHA, and EVAL after a NOSCRIPT). */
async function scriptCalls(redis: TestRedis): Promise<number> {
  const stats = await redis.client.info('commandstats');
  const calls = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}
