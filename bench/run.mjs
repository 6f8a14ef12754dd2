// npm run bench: measures usher's performance targets on this machine, in one invocation
// (docs/performance.md). Starts its own redis-server on a free loopback port, usher
// (dist/main.js) and the raw and floor references (reference-server.mjs), runs the phases of BENCH_PHASES
// (bench/phases/, in the order below), prints one summary table and writes every figure to
// bench/results/latest.json. The BENCH_* variables are read in config.mjs.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MIX_POPULATION, OPEN_LOOP_PHASES, PREFIXES, readConfig } from './config.mjs';
import { bulkLoad } from './lib/loader.mjs';
import { buildOpenLoop } from './lib/open-loop.mjs';
import { installExitHandlers, startRedis, stopAll } from './lib/processes.mjs';
import { BENCH_PLANS, loadUsherScript, mix, plansYaml } from './lib/workload.mjs';
import { fmt, int, log } from './log.mjs';
import { admissionPhase } from './phases/admission.mjs';
import { churnPhase } from './phases/churn.mjs';
import { closedPhase } from './phases/closed.mjs';
import { cpuPhase } from './phases/cpu.mjs';
import { openPhase } from './phases/open.mjs';
import { redisPhase } from './phases/redis.mjs';
import { scalePhase } from './phases/scale.mjs';
import { searchPhase } from './phases/search.mjs';
import { collectProfiles } from './profiles.mjs';
import { machine, report, settings } from './report.mjs';
import {
  ensureBuild,
  heartbeatsByReason,
  parityCheck,
  startReference,
  startUsher,
} from './servers.mjs';

/** The servers the closed-loop, cpu, open and search phases compare, in the order they run. */
const serversOf = (config) => [
  'usher',
  ...(config.baselineRoot ? ['baseline'] : []),
  'raw',
  'floor',
];
/** The servers BENCH_PROFILE profiles (the baseline is not). */
const PROFILED = ['usher', 'raw', 'floor'];

async function startServers(ctx, { profile = false } = {}) {
  ctx.targets.usher = await startUsher(ctx, { profile });
  ctx.targets.raw = await startReference(ctx, 'raw', { profile });
  ctx.targets.floor = await startReference(ctx, 'floor', { profile });
}

async function setUp(config, startedAt, runDir) {
  mkdirSync(runDir, { recursive: true });
  const plansFile = join(runDir, 'plans.yaml');
  writeFileSync(plansFile, plansYaml(BENCH_PLANS));
  const redisHandle = await startRedis({
    logFile: join(runDir, 'redis.log'),
    args: config.redisArgs,
  });
  const servers = serversOf(config);
  const ctx = {
    config,
    startedAt,
    runDir,
    plansFile,
    script: loadUsherScript(config.usherRoot),
    redis: redisHandle.client,
    redisUrl: redisHandle.url,
    redisPid: redisHandle.pid,
    servers,
    targets: {},
    mix: Object.fromEntries(servers.map((n) => [n, mix(MIX_POPULATION, { seed: 7 })])),
    warm: new Set(),
    profileWindows: {},
  };
  await startServers(ctx, { profile: config.profile });
  if (config.baselineRoot) {
    if (!existsSync(join(config.baselineRoot, 'dist', 'main.js'))) {
      throw new Error(
        `BENCH_BASELINE_ROOT: ${config.baselineRoot}/dist/main.js is missing (npm run build there)`,
      );
    }
    ctx.targets.baseline = await startUsher(ctx, {
      name: 'baseline',
      root: config.baselineRoot,
      prefix: PREFIXES.baseline,
    });
  }
  await parityCheck(ctx.targets);
  const started = ctx.servers.map((n) => `${n} ${ctx.targets[n].url} (pid ${ctx.targets[n].pid})`);
  log(`redis ${ctx.redisUrl}, ${started.join(', ')}; parity check passed`);
  return ctx;
}

/**
 * Each compared server's own copy of the mix's population, under its own key prefix (the floor
 * reads nothing, so it needs none).
 */
async function preload(ctx) {
  for (const name of ctx.servers.filter((n) => n !== 'floor')) {
    // The baseline may store sessions in another layout: load it with its own script.
    const script = name === 'baseline' ? loadUsherScript(ctx.config.baselineRoot) : ctx.script;
    const load = await bulkLoad(ctx.redis, script, MIX_POPULATION, { prefix: PREFIXES[name] });
    log(`preloaded ${int(load.sessions)} sessions for ${name} in ${fmt(load.seconds, 1)} s`);
  }
}

/** A degraded answer is a 200 that Redis did not decide: a run with any measured nothing real. */
async function checkDegraded(ctx, results) {
  for (const name of ['usher', 'baseline'].filter((n) => ctx.targets[n])) {
    const reasons = await heartbeatsByReason(ctx.targets[name]).catch(() => ({}));
    if (!reasons.degraded) continue;
    (results.degraded ??= {})[name] = reasons.degraded;
    log(
      `\nWARNING: ${name} answered ${int(reasons.degraded)} heartbeats 'degraded' (Redis did not decide): its figures are not valid`,
    );
  }
}

async function main() {
  installExitHandlers();
  const config = readConfig();
  const startedAt = Date.now();
  const has = (phase) => config.phases.includes(phase);
  const build = ensureBuild(config);
  // The C load generator is built (or found missing) before any server starts or run is metered.
  if (OPEN_LOOP_PHASES.some(has)) buildOpenLoop();
  const info = machine(config);
  log(
    `usher bench: ${info.nproc} CPUs (${info.cpuModel}), node ${info.node}, redis ${info.redis}, autocannon ${info.autocannon}`,
  );
  const runDir = join(
    config.root,
    '.bench',
    `run-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}`,
  );
  log(
    `mode ${config.quick ? 'QUICK' : 'full'}: ${config.durationS} s per phase, phases ${config.phases.join(',')}; usher ${config.usherRoot} (${build}); artifacts in ${relative(config.root, runDir)}`,
  );
  const ctx = await setUp(config, startedAt, runDir);
  const results = {
    startedAt: new Date(startedAt).toISOString(),
    quick: config.quick,
    machine: info,
    usherRoot: config.usherRoot,
    baselineRoot: config.baselineRoot,
    settings: settings(config),
  };
  if (['closed', 'cpu', 'open', 'search'].some(has)) await preload(ctx);
  if (has('closed')) results.closedLoop = await closedPhase(ctx);
  if (has('cpu')) results.cpu = await cpuPhase(ctx);
  if (config.profile) {
    Object.assign(results, await collectProfiles(ctx, PROFILED, results.closedLoop));
    await startServers(ctx);
  }
  if (has('open')) results.openLoop = await openPhase(ctx);
  if (has('search')) results.search = await searchPhase(ctx, results.openLoop, results.closedLoop);
  if (has('admission')) results.admission = await admissionPhase(ctx);
  if (has('redis')) results.redisCost = await redisPhase(ctx);
  if (has('churn')) results.churn = await churnPhase(ctx);
  if (has('scale')) results.scale = await scalePhase(ctx);
  await checkDegraded(ctx, results);
  report(results, config, startedAt);
}

main()
  .then(async () => {
    await stopAll();
    process.exit(0);
  })
  .catch(async (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    await stopAll();
    process.exit(1);
  });
