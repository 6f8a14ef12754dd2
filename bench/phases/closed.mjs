// closed: maximum throughput. autocannon keeps BENCH_CONNECTIONS connections busy against each
// server in turn, rounds interleaved; the round with the median throughput is reported, and the
// verdicts are the medians of the per-round usher ÷ raw and usher ÷ floor ratios. usher's first run also counts the
// Redis commands per heartbeat (INFO commandstats) and its decisions (/metrics).
import { TOKEN } from '../config.mjs';
import { closedLoop } from '../lib/closed-loop.mjs';
import { commandStats } from '../lib/redis-stats.mjs';
import { median } from '../lib/stats.mjs';
import { fmt, int, log } from '../log.mjs';
import { formatCpu, measured, warmUp } from '../measure.mjs';
import { heartbeatsByReason } from '../servers.mjs';

const diff = (after, before) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

/** Heartbeat commands vs background work (plan-version polls, BullMQ, sightings flushes). */
function redisCalls(stats, heartbeats) {
  const commands = Object.entries(stats)
    .filter(([cmd]) => !/^(config|info)/.test(cmd))
    .sort((a, b) => b[1].calls - a[1].calls);
  const isPerHeartbeat = ([, c]) => c.calls / heartbeats >= 0.005;
  return {
    heartbeats,
    perHeartbeat: Object.fromEntries(
      commands
        .filter(isPerHeartbeat)
        .map(([cmd, c]) => [cmd, Number((c.calls / heartbeats).toFixed(3))]),
    ),
    // Background commands are counted, not divided per heartbeat.
    background: Object.fromEntries(
      commands.filter((e) => !isPerHeartbeat(e)).map(([cmd, c]) => [cmd, c.calls]),
    ),
    // EVALSHA's time includes the commands the script runs.
    usecPerCall: Object.fromEntries(commands.map(([cmd, c]) => [cmd, c.usecPerCall])),
  };
}

/** One measured closed-loop run of `name`; usher's first also reads Redis' and usher's counts. */
async function runOnce(ctx, name, round) {
  const { config, redis } = ctx;
  const target = ctx.targets[name];
  const counted = name === 'usher' && round === 0;
  let startUs;
  const r = await measured(
    ctx,
    target.pid,
    async () => {
      // The counts then cover exactly the attempt whose heartbeats are counted (measured() may
      // keep an earlier attempt than the last).
      const beforeReasons = counted ? await heartbeatsByReason(target) : null;
      if (counted) await redis.config('RESETSTAT');
      startUs = Number(process.hrtime.bigint() / 1000n);
      const run = await closedLoop({
        url: `${target.url}/v1/heartbeats`,
        token: TOKEN,
        connections: config.connections,
        durationS: config.durationS,
        nextBody: ctx.mix[name],
      });
      if (counted) {
        run.commandStats = await commandStats(redis);
        run.reasons = diff(await heartbeatsByReason(target), beforeReasons);
      }
      return run;
    },
    (x) => x.requests,
  );
  if (round === 0) {
    ctx.profileWindows[name] = { from: startUs, to: Number(process.hrtime.bigint() / 1000n) };
  }
  log(
    `  ${name.padEnd(8)} round ${round + 1}: ${int(r.rps)} req/s  p50 ${fmt(r.latency.p50)} ms  p99 ${fmt(r.latency.p99)} ms  non-2xx ${r.non2xx}  errors ${r.errors}  | ${formatCpu(r.cpu)}`,
  );
  return r;
}

const pick = (list) => {
  const m = median(list.map((r) => r.rps));
  return list.find((r) => r.rps === m);
};
const serverCpu = (runs) => median(runs.map((r) => r.cpu.usPerRequest.server));
// Per round, usher ÷ other: the runs of a round are seconds apart and share the host's state (its
// steal moves throughput by 2x within minutes here); a verdict takes their median.
const roundRatios = (runs, other) =>
  runs.usher.map((r, i) => Number((r.rps / runs[other][i].rps).toFixed(3)));

export async function closedPhase(ctx) {
  const { config } = ctx;
  log(
    `\n## closed loop: ${config.connections} connections, ${config.durationS} s per run, 90/8/2 renewal/admission/release`,
  );
  await warmUp(ctx);
  const runs = Object.fromEntries(ctx.servers.map((name) => [name, []]));
  for (let round = 0; round < config.rounds; round++) {
    for (const name of ctx.servers) runs[name].push(await runOnce(ctx, name, round));
  }
  const first = runs.usher[0];
  const calls = redisCalls(first.commandStats, first.requests - first.non2xx);
  const reasons = first.reasons;
  delete first.commandStats;
  delete first.reasons;

  const result = {
    usher: pick(runs.usher),
    raw: pick(runs.raw),
    floor: pick(runs.floor),
    rounds: runs,
  };
  result.redisCalls = calls;
  result.usherReasons = reasons;
  if (runs.baseline) {
    result.baseline = pick(runs.baseline);
    result.versusBaseline = {
      baselineRoot: config.baselineRoot,
      throughput: result.usher.rps / result.baseline.rps,
      baselineRatioToRaw: result.baseline.rps / result.raw.rps,
      serverCpuUs: Object.fromEntries(
        ['usher', 'baseline', 'raw'].map((n) => [n, serverCpu(runs[n])]),
      ),
      roundThroughputRatios: roundRatios(runs, 'baseline'),
    };
  }
  result.ratio = result.usher.rps / result.raw.rps;
  result.roundRatios = roundRatios(runs, 'raw');
  result.pairedRatio = median(result.roundRatios);
  result.floorRoundRatios = roundRatios(runs, 'floor');
  result.floorPairedRatio = median(result.floorRoundRatios);
  // Noise-robust companion figure: server CPU per heartbeat, raw ÷ usher (1.0 = as lean as raw).
  result.cpuEfficiencyRatio = serverCpu(runs.raw) / serverCpu(runs.usher);
  log(
    `  usher/raw throughput ratio: ${fmt(result.pairedRatio)} (median of rounds ${result.roundRatios.join(', ')}; of the median rounds ${fmt(result.ratio)}); server CPU per heartbeat raw/usher: ${fmt(result.cpuEfficiencyRatio)}`,
  );
  log(
    `  usher/floor throughput ratio: ${fmt(result.floorPairedRatio)} (median of rounds ${result.floorRoundRatios.join(', ')}); server CPU per heartbeat usher ${fmt(serverCpu(runs.usher), 1)} µs, floor ${fmt(serverCpu(runs.floor), 1)} µs`,
  );
  log(`  decisions during the usher run: ${JSON.stringify(reasons)}`);
  if (result.versusBaseline) {
    const v = result.versusBaseline;
    log(
      `  versus baseline (${config.baselineRoot}): throughput ×${fmt(v.throughput)} (per round ${v.roundThroughputRatios.join(', ')}); server CPU µs/heartbeat usher ${fmt(v.serverCpuUs.usher, 1)} vs baseline ${fmt(v.serverCpuUs.baseline, 1)} (raw ${fmt(v.serverCpuUs.raw, 1)}); baseline/raw ${fmt(v.baselineRatioToRaw)}`,
    );
  }
  log(
    `  Redis calls per heartbeat: ${JSON.stringify(calls.perHeartbeat)}; EVALSHA ${fmt(calls.usecPerCall.evalsha, 1)} µs per call inside Redis`,
  );
  log(
    `  background Redis calls during the run (not per heartbeat): ${JSON.stringify(calls.background)}`,
  );
  return result;
}
