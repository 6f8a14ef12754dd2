// The native open-loop load generator (openloop.c beside this file): the same schedule, latencies
// and result as the JS openLoop() in open-loop.mjs, at a fraction of its CPU per request, which
// matters on a box shared with the server under test and Redis. Built with `cc -O2` into
// <repo>/.bench/bin/openloop when missing or older than its source; run as a child process that
// takes the request bodies from a temp file (one per line) and prints its result as JSON.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'openloop.c');
const BINARY = join(resolve(HERE, '..', '..'), '.bench', 'bin', 'openloop');

let compilerWorks;
function haveCompiler() {
  if (compilerWorks === undefined) {
    try {
      execFileSync('cc', ['--version'], { stdio: 'ignore' });
      compilerWorks = true;
    } catch {
      compilerWorks = false;
    }
  }
  return compilerWorks;
}

const isStale = () => !existsSync(BINARY) || statSync(BINARY).mtimeMs < statSync(SOURCE).mtimeMs;

/** True when the native generator can run: a C compiler (`cc`) runs or the binary is built. */
export function nativeLoadGeneratorAvailable() {
  return existsSync(BINARY) || haveCompiler();
}

/**
 * Compiles openloop.c when the binary is missing or older than the source (a stale binary is
 * kept when there is no compiler). Returns the binary's path. Synchronous, so a caller can build
 * before it starts metering CPU.
 */
export function buildNativeLoadGenerator() {
  if (isStale() && haveCompiler()) {
    mkdirSync(dirname(BINARY), { recursive: true });
    const tmp = `${BINARY}.${process.pid}.tmp`; // renamed into place: concurrent benches are safe
    execFileSync('cc', ['-O2', '-o', tmp, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
    renameSync(tmp, BINARY);
  }
  if (!existsSync(BINARY)) throw new Error(`no native load generator at ${BINARY}`);
  return BINARY;
}

let seq = 0;

/** openLoop() of open-loop.mjs (same options, same result), by the native generator. */
export async function openLoopNative({
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
  const binary = buildNativeLoadGenerator();
  const total = Math.ceil(rate * durationS);
  const bodies = new Array(total);
  for (let i = 0; i < total; i++) {
    const b = nextBody();
    if (b.includes('\n')) throw new Error('openLoopNative: a request body contains a newline');
    bodies[i] = b;
  }
  const file = join(tmpdir(), `usher-openloop-${process.pid}-${Date.now()}-${seq++}.bodies`);
  await writeFile(file, bodies.length ? `${bodies.join('\n')}\n` : '');
  try {
    const args = [
      '--host',
      host,
      '--port',
      String(port),
      '--path',
      path,
      '--rate',
      String(rate),
      '--duration',
      String(durationS),
      '--max-connections',
      String(maxConnections),
      '--warm-connections',
      String(warmConnections),
      '--bodies',
      file,
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
    // NaN (no samples) travels as null in JSON: back to NaN, as the JS generator returns it.
    return JSON.parse(out, (key, value) => (value === null ? NaN : value));
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
