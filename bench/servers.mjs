// The servers under test, each its own child process on a free loopback port: usher (dist/main.js
// of BENCH_USHER_ROOT, or of BENCH_BASELINE_ROOT for the baseline) and the raw and floor
// references (reference-server.mjs). Also what the bench asks of them: a heartbeat, usher's
// decision counts.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PREFIXES, TOKEN } from './config.mjs';
import { freePort, startChild, waitForHttp } from './lib/processes.mjs';
import { log } from './log.mjs';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` in the usher under test when src/ is newer than dist/main.js. */
export function ensureBuild(config) {
  const main = join(config.usherRoot, 'dist', 'main.js');
  if (config.skipBuild) {
    if (!existsSync(main)) throw new Error('BENCH_SKIP_BUILD=1 but dist/main.js is missing');
    return 'skipped (BENCH_SKIP_BUILD=1)';
  }
  const stale =
    !existsSync(main) || newestMtime(join(config.usherRoot, 'src')) > statSync(main).mtimeMs;
  if (!stale) return 'dist/ up to date';
  log('building dist/ (npm run build) ...');
  execSync('npm run build', { cwd: config.usherRoot, stdio: 'inherit' });
  return 'built';
}

/**
 * The node flags production runs usher with: those of `npm run start:prod` in `root`'s
 * package.json ("node <flags> dist/main.js"; the Dockerfile's CMD is kept alike by a test).
 */
export function productionNodeFlags(root) {
  const startProd = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts?.[
    'start:prod'
  ];
  const words = startProd?.split(' ') ?? [];
  return words[0] === 'node' ? words.slice(1, -1) : [];
}

const profileArgs = (runDir, name, profile) =>
  profile ? ['--cpu-prof', `--cpu-prof-dir=${join(runDir, `profile-${name}`)}`] : [];

/**
 * usher as production runs it (NODE_ENV=production, start:prod's node flags, warn-level logs) on
 * the bench's Redis and
 * plans file. `root` is the checkout whose dist/ runs; `name` names its log and profile.
 */
export async function startUsher(
  { config, runDir, redisUrl, plansFile },
  { name = 'usher', profile = false, root = config.usherRoot, prefix = PREFIXES.usher } = {},
) {
  const port = await freePort();
  const args = [
    ...productionNodeFlags(root),
    ...config.usherNodeFlags,
    ...profileArgs(runDir, name, profile),
    join(root, 'dist', 'main.js'),
  ];
  const handle = startChild(name, process.execPath, args, {
    cwd: root,
    logFile: join(runDir, `${name}.log`),
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: redisUrl,
      USHER_KEY_PREFIX: prefix,
      USHER_PLANS_FILE: plansFile,
      USHER_SESSION_ID_SECRET: 'bench-session-id-secret',
      USHER_LICENSE_SERVER_TOKENS: TOKEN,
      USHER_ADMIN_TOKENS: 'bench-admin-token',
      USHER_LOG_LEVEL: 'warn',
    },
  });
  await waitForHttp(name, `http://127.0.0.1:${port}/health/ready`, handle);
  return { ...handle, port, url: `http://127.0.0.1:${port}` };
}

/**
 * A reference server (reference-server.mjs): `mode` raw runs the script of the usher under test,
 * floor one SET per request. Named by its mode.
 */
export async function startReference({ config, runDir, redisUrl }, mode, { profile = false } = {}) {
  const port = await freePort();
  const args = [
    ...profileArgs(runDir, mode, profile),
    ...config.referenceNodeFlags,
    join(config.root, 'bench', 'reference-server.mjs'),
  ];
  const handle = startChild(mode, process.execPath, args, {
    cwd: config.root,
    logFile: join(runDir, `${mode}.log`),
    env: {
      NODE_ENV: 'production',
      REFERENCE_MODE: mode,
      REFERENCE_PORT: String(port),
      REFERENCE_ROOT: config.usherRoot,
      REDIS_URL: redisUrl,
      REFERENCE_KEY_PREFIX: PREFIXES[mode],
      REFERENCE_AUTOPIPELINING: config.referenceAutoPipelining ? '1' : '0',
    },
  });
  await waitForHttp(mode, `http://127.0.0.1:${port}/health`, handle);
  return { ...handle, port, url: `http://127.0.0.1:${port}` };
}

/** One heartbeat: { status, body }. */
export async function post(url, body, token = TOKEN) {
  const res = await fetch(`${url}/v1/heartbeats`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * usher and raw answer the same heartbeat with the same shape and decision (else the ratio lies);
 * the floor allows each.
 */
export async function parityCheck({ usher, raw, floor }) {
  const hb = (messageType) => ({
    userId: 'parity-user',
    drm: 'widevine',
    messageType,
    sessionId: 'parity-session',
    deviceId: 'parity-device',
    contentId: 'parity-content',
  });
  const problems = [];
  for (const messageType of ['license-request', 'license-renewal', 'license-release']) {
    const [a, b] = await Promise.all([
      post(usher.url, hb(messageType)),
      post(raw.url, hb(messageType)),
    ]);
    if (a.status !== 200 || b.status !== 200) {
      problems.push(`${messageType}: HTTP ${a.status} (usher) vs ${b.status} (raw)`);
      continue;
    }
    const strip = ({ ...r }) =>
      JSON.stringify(
        Object.keys(r)
          .sort()
          .map((k) => [k, r[k]]),
      );
    if (strip(a.body) !== strip(b.body)) {
      problems.push(
        `${messageType}: usher ${JSON.stringify(a.body)} vs raw ${JSON.stringify(b.body)}`,
      );
    }
  }
  const f = await post(floor.url, hb('license-renewal'));
  if (f.status !== 200 || f.body.decision !== 'allow') {
    problems.push(`floor: HTTP ${f.status} ${JSON.stringify(f.body)}`);
  }
  if (problems.length) {
    throw new Error(`the servers answer differently:\n  ${problems.join('\n  ')}`);
  }
}

/** Sum of usher_heartbeats_total by reason, from usher's /metrics. */
export async function heartbeatsByReason(usher) {
  const text = await (await fetch(`${usher.url}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('usher_heartbeats_total{')) continue;
    const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? '?';
    out[reason] = (out[reason] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}
