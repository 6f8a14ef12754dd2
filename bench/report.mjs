// What a run reports: the machine it ran on, the settings, one summary row per target (PASS or
// MISS), the summary table on stdout and every figure in bench/results/latest.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { MIX_POPULATION, P99_TARGET_MS } from './config.mjs';
import { fmt, int, log } from './log.mjs';

const loadAverage = () => loadavg().map((l) => Number(l.toFixed(2)));

function commandOutput(command, args) {
  try {
    return execFileSync(command, args).toString();
  } catch {
    return '';
  }
}

export function machine(config) {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const autocannon = join(config.root, 'node_modules/autocannon/package.json');
  return {
    nproc: Number(commandOutput('nproc', []).trim()) || cpus().length,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    redis: /v=(\S+)/.exec(commandOutput('redis-server', ['--version']))?.[1] ?? 'unknown',
    autocannon: JSON.parse(readFileSync(autocannon, 'utf8')).version,
    loadAverageAtStart: loadAverage(),
  };
}

/** The settings as the JSON records them. */
export const settings = (config) => ({
  durationS: config.durationS,
  warmupS: config.warmupS,
  connections: config.connections,
  rate: config.rate,
  scaleRate: config.scaleRate,
  scaleSessions: [config.scaleSmall, config.scaleLarge],
  rounds: config.rounds,
  population: MIX_POPULATION,
  usherNodeFlags: config.usherNodeFlags,
  rawAutoPipelining: config.referenceAutoPipelining,
  redisArgs: config.redisArgs,
  quietWaitS: config.quietWaitS,
});

const rounds = (xs) => xs.map((x) => fmt(x)).join(' / ');

/** One row per target of the phases that ran: { target, measured, verdict, note }. */
export function summaryRows(results, config) {
  const rows = [];
  // A quick run's single short rounds move ±20 %: its verdicts only show the bench works.
  const row = (target, measured, pass, note = '') =>
    rows.push({
      target,
      measured,
      verdict: pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS',
      note:
        config.quick && pass !== undefined
          ? [note, 'quick run: indicative only'].filter(Boolean).join('; ')
          : note,
    });
  const c = results.closedLoop;
  if (c) {
    row(
      'throughput usher ≥ 1.1 × raw (closed loop, median of round ratios)',
      `${fmt(c.pairedRatio)} (rounds ${rounds(c.roundRatios)})`,
      c.pairedRatio >= 1.1,
      `median rounds ${int(c.usher.rps)} vs ${int(c.raw.rps)} req/s`,
    );
    row(
      'throughput usher ≥ 0.9 × floor (closed loop, median of round ratios)',
      `${fmt(c.floorPairedRatio)} (rounds ${rounds(c.floorRoundRatios)})`,
      c.floorPairedRatio >= 0.9,
      `median rounds ${int(c.usher.rps)} vs ${int(c.floor.rps)} req/s`,
    );
  }
  const cpu = results.cpu;
  if (cpu) {
    const us = cpu.serverUs;
    row(
      `Node CPU per heartbeat at ${int(cpu.rate)}/s: usher ≤ 1.05 × raw`,
      `${fmt(cpu.usherOverRaw)} (usher ${fmt(us.usher, 1)}, raw ${fmt(us.raw, 1)}, floor ${fmt(us.floor, 1)} µs)`,
      cpu.usherOverRaw <= 1.05,
      `open loop, median of rounds; usher ÷ floor ${fmt(cpu.usherOverFloor)}`,
    );
  }
  const o = results.openLoop;
  if (o) {
    row(
      `p99 < ${P99_TARGET_MS} ms at ${int(config.rate)}/s offered (open loop, median round)`,
      `${fmt(o.usher.latency.p99)} ms (p50 ${fmt(o.usher.latency.p50)})`,
      o.usher.latency.p99 < P99_TARGET_MS && !o.usher.anyFailed,
      `rounds ${rounds(o.usher.roundP99s)}; raw ${fmt(o.raw.latency.p99)} (${rounds(o.raw.roundP99s)}), floor ${fmt(o.floor.latency.p99)} ms`,
    );
  }
  const s = results.search;
  if (s) {
    const rate = Object.fromEntries(Object.entries(s).map(([n, r]) => [n, r.highestPassingRate]));
    row(
      `highest rate with p99 < ${P99_TARGET_MS} ms: usher ≥ 1.0 × raw`,
      `${fmt(rate.usher / rate.raw)} (usher ${int(rate.usher)}, raw ${int(rate.raw)}, floor ${int(rate.floor)}/s)`,
      rate.usher / rate.raw >= 1,
      `open loop, at most ${config.searchSteps} steps per server`,
    );
  }
  const sc = results.scale;
  if (sc) {
    const [small, large] = sc.points;
    row(
      `p99 flat: ${int(large.liveSessions)} vs ${int(small.liveSessions)} live sessions (≤ 1.2×)`,
      `${fmt(sc.p99Ratio)}× (${fmt(large.renewals.p99)} vs ${fmt(small.renewals.p99)} ms)`,
      sc.p99Ratio <= 1.2,
      large.liveSessions < 1_000_000 ? `${int(large.liveSessions)}, not 1 M` : '',
    );
    row(
      'Redis memory ≤ 350 B per live session',
      `${fmt(large.bytesPerSession, 0)} B at ${int(large.liveSessions)}`,
      large.bytesPerSession <= 350,
      `Redis defaults; sessions as ${sc.storage}`,
    );
  }
  const rc = results.redisCost;
  if (rc) {
    row(
      'Redis µs per renewal ≤ 1.3 × minimal sorted-set script',
      `${fmt(rc.renewalOverMinimal)} (${fmt(rc.usPerCall.renewal)} vs ${fmt(rc.usPerCall.minimal)} µs)`,
      rc.renewalOverMinimal <= 1.3,
      'INFO commandstats; ratio: median of per-round ratios, µs: minimum of rounds',
    );
    row(
      "churn: the churner's Redis µs per call ≤ 2 × steady renewal",
      `${fmt(rc.churnOverRenewal)} (${fmt(rc.usPerCall.churn)} µs)`,
      rc.churnOverRenewal <= 2,
    );
  }
  const ch = results.churn;
  if (ch) {
    row(
      `churn: other users' p99 ≤ 2 × without (${int(ch.requests)} new sessions)`,
      `${fmt(ch.p99Ratio)} (${fmt(ch.p99With)} vs ${fmt(ch.p99Without)} ms)`,
      ch.p99Ratio <= 2 && ch.degraded === 0,
      `churner holds ${ch.churnerEntries} entries, ${int(ch.churnerBytes)} B`,
    );
  }
  const a = results.admission;
  if (a) {
    row(
      `zero over-admission (${a.parallel} parallel × ${a.rounds} rounds, 3 instances, limit 2)`,
      `${a.rounds - a.roundsWrong}/${a.rounds} rounds exact, max ${a.maxAdmitted}`,
      a.roundsWrong === 0 && a.non200 === 0,
    );
  }
  if (c?.redisCalls) {
    const evalsha = c.redisCalls.perHeartbeat.evalsha ?? 0;
    row(
      'one script call per heartbeat',
      `${fmt(evalsha, 3)} EVALSHA/heartbeat`,
      Math.abs(evalsha - 1) < 0.01,
    );
  }
  return rows;
}

function printTable(rows) {
  const widths = [0, 0];
  for (const r of rows) {
    widths[0] = Math.max(widths[0], r.target.length);
    widths[1] = Math.max(widths[1], r.measured.length);
  }
  const line = (a, b, c, d) =>
    `${a.padEnd(widths[0])}  ${b.padEnd(widths[1])}  ${c.padEnd(5)} ${d}`;
  log(line('target', 'measured', 'ok?', ''));
  log(line('-'.repeat(widths[0]), '-'.repeat(widths[1]), '-----', ''));
  for (const r of rows) log(line(r.target, r.measured, r.verdict, r.note));
}

/** Completes `results`, writes bench/results/latest.json and prints the summary table. */
export function report(results, config, startedAt) {
  const { machine: info } = results;
  info.loadAverageAtEnd = loadAverage();
  results.summary = summaryRows(results, config);
  results.elapsedSeconds = Math.round((Date.now() - startedAt) / 1000);
  const resultsDir = join(config.root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(
    `\n## summary (${info.nproc} CPUs, ${info.cpuModel}; load average ${info.loadAverageAtStart.join(' ')} → ${info.loadAverageAtEnd.join(' ')}; ${results.elapsedSeconds} s)`,
  );
  printTable(results.summary);
  log(`\nfigures: bench/results/latest.json`);
}
