// Open-loop (wrk2-style) load: requests are scheduled at a fixed rate whatever the server does,
// so a slow server cannot slow the load down and hide its queueing (coordinated omission). The
// client is openloop.c beside this file, one epoll loop over keep-alive connections (one request
// in flight per connection, opened on demand up to maxConnections; when all are busy, due
// requests wait, and that wait counts in their latency). It is C because a Node client cost
// 55-90 µs of CPU per request on the 2-vCPU box it shares with the server under test and Redis,
// and its own event-loop delay showed in the latencies (docs/performance.md, "Method").
//
// Three latencies per request (ms):
//   latency        from the 1 ms tick that found the request due to its answer: the server's time
//                  plus any wait for a free connection (the figure the p99 target is judged by)
//   fromSchedule   from its exact scheduled instant: adds the generator's own timer lag (strict
//                  wrk2 accounting)
//   service        from the write of the request to its answer (no queueing at all)
//
// Built with `cc -O2` into <repo>/.bench/bin/openloop when missing or older than its source; run
// as a child process that takes the request bodies from a temp file (one per line) and prints its
// result as JSON.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'openloop.c');
const BINARY = join(resolve(HERE, '..', '..'), '.bench', 'bin', 'openloop');

function haveCompiler() {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const isStale = () => !existsSync(BINARY) || statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs;

/**
 * Compiles openloop.c when the binary is missing or older than the source (a stale binary is
 * kept when there is no compiler) and returns its path. The bench calls it before any metered
 * run, so no compile is charged as load-generator CPU; it throws, naming `cc`, when there is
 * neither a binary nor a C compiler.
 */
export function buildOpenLoop() {
  if (isStale() && haveCompiler()) {
    mkdirSync(dirname(BINARY), { recursive: true });
    const tmp = `${BINARY}.${process.pid}.tmp`; // renamed into place: concurrent benches are safe
    execFileSync('cc', ['-O2', '-o', tmp, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
    renameSync(tmp, BINARY);
  }
  if (!existsSync(BINARY)) {
    throw new Error(
      `the open-loop load generator (bench/lib/openloop.c) needs a C compiler, and \`cc\` was not ` +
        `found on PATH: install one (e.g. apt-get install gcc) or run only BENCH_PHASES=closed,admission,redis`,
    );
  }
  return BINARY;
}

let seq = 0;

/**
 * Offers `rate` requests/s for `durationS` seconds. `nextBody()` gives each request body.
 * Resolves { offered, durationS, sent, completed, achieved, latency, fromSchedule, serviceLatency
 * (each { p50, p90, p99, p999, max } in ms), non2xx, errors, socketErrors, lateStarts,
 * maxConnectionsUsed }.
 */
export async function openLoop({
  host = '127.0.0.1',
  port,
  path = '/v1/heartbeats',
  token,
  rate,
  durationS,
  nextBody,
  maxConnections = 256,
  warmConnections = 16,
}) {
  const binary = buildOpenLoop();
  const total = Math.ceil(rate * durationS);
  const bodies = new Array(total);
  for (let i = 0; i < total; i++) {
    const b = nextBody();
    if (b.includes('\n')) throw new Error('openLoop: a request body contains a newline');
    bodies[i] = b;
  }
  const file = join(tmpdir(), `usher-openloop-${process.pid}-${Date.now()}-${seq++}.bodies`);
  await writeFile(file, bodies.length ? `${bodies.join('\n')}\n` : '');
  try {
    const args = [
      ...['--host', host, '--port', String(port), '--path', path],
      ...['--rate', String(rate), '--duration', String(durationS)],
      ...['--max-connections', String(maxConnections)],
      ...['--warm-connections', String(warmConnections), '--bodies', file],
    ];
    if (token) args.push('--token', token);
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const kill = () => child.kill('SIGKILL'); // never outlives the bench (it also has PDEATHSIG)
    process.once('exit', kill);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const [code, signal] = await new Promise((resolveExit, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolveExit([c, s]));
    }).finally(() => process.removeListener('exit', kill));
    if (code !== 0) throw new Error(`openloop exited with ${signal ?? `code ${code}`}`);
    // NaN (no samples) travels as null in JSON: back to NaN, as summarize() (stats.mjs) gives it.
    return JSON.parse(out, (key, value) => (value === null ? NaN : value));
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
