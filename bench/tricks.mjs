// npm run bench:tricks: each hot-path trick against its plain version, in one bench run per
// trick (closed-loop throughput and CPU per heartbeat at a fixed rate, rounds interleaved).
//
// bench/tricks/<name>.patch turns the trick into the plain version (docs/performance.md,
// "Hot-path tricks"). For each patch: the committed tree (git archive HEAD) goes into a
// temporary directory, the patch is applied there and that copy is built; then
// `npm run bench` runs with it as BENCH_BASELINE_ROOT, so usher (the trick) and the plain
// version take turns in the same rounds. A trick is worth keeping when it buys at least 3 %
// throughput or 3 % p99. Table on stdout, figures in bench/results/tricks.json.
//
//   node bench/tricks.mjs [name ...]   (default: every patch in bench/tricks/)
//   BENCH_* variables pass through to each bench run (e.g. BENCH_DURATION_S, BENCH_ROUNDS).
import { execFileSync, execSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ROOT } from './config.mjs';
import { median } from './lib/stats.mjs';
import { fmt, log } from './log.mjs';

const PATCHES = join(ROOT, 'bench', 'tricks');
/** What a trick must buy to stay: this much more throughput, or this much lower p99. */
const WORTH = 0.03;

function plainCopy(name) {
  const dir = mkdtempSync(join(tmpdir(), `usher-trick-${name}-`));
  execSync(`git archive HEAD | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT, stdio: 'inherit' });
  execFileSync('git', ['apply', join(PATCHES, `${name}.patch`)], { cwd: dir, stdio: 'inherit' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'inherit' });
  return dir;
}

function benchAgainst(plainRoot) {
  execFileSync('node', [join(ROOT, 'bench', 'run.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      BENCH_PHASES: 'closed,cpu',
      BENCH_BASELINE_ROOT: plainRoot,
      BENCH_SKIP_BUILD: '1',
    },
  });
  return JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'));
}

function compare(name, results) {
  const versus = results.closedLoop.versusBaseline;
  const p99 = (server) => median(results.cpu.runs[server].map((r) => r.p99));
  const row = {
    trick: name,
    throughputTrickOverPlain: versus.throughput,
    roundThroughputRatios: versus.roundThroughputRatios,
    cpuUsPerHeartbeat: { trick: results.cpu.serverUs.usher, plain: results.cpu.serverUs.baseline },
    p99Ms: { trick: p99('usher'), plain: p99('baseline') },
    cpuRate: results.cpu.rate,
  };
  row.keep =
    row.throughputTrickOverPlain >= 1 + WORTH || row.p99Ms.trick <= row.p99Ms.plain * (1 - WORTH);
  return row;
}

function main() {
  const wanted = process.argv.slice(2);
  const names = readdirSync(PATCHES)
    .filter((f) => f.endsWith('.patch'))
    .map((f) => basename(f, '.patch'))
    .filter((n) => !wanted.length || wanted.includes(n));
  if (!names.length) throw new Error(`no patch in ${PATCHES} matches ${wanted.join(', ')}`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const rows = [];
  for (const name of names) {
    log(`\n# trick ${name}: usher (trick) vs bench/tricks/${name}.patch (plain)`);
    const dir = plainCopy(name);
    try {
      rows.push(compare(name, benchAgainst(dir)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const head = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  writeFileSync(
    join(ROOT, 'bench', 'results', 'tricks.json'),
    `${JSON.stringify({ commit: head, at: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  log(
    `\n| trick | throughput trick ÷ plain | CPU µs/heartbeat trick / plain | p99 ms trick / plain | keep (≥ 3 %) |`,
  );
  log('|---|---|---|---|---|');
  for (const r of rows) {
    log(
      `| ${r.trick} | ${fmt(r.throughputTrickOverPlain)} (${r.roundThroughputRatios.join(', ')}) | ${fmt(r.cpuUsPerHeartbeat.trick, 1)} / ${fmt(r.cpuUsPerHeartbeat.plain, 1)} | ${fmt(r.p99Ms.trick)} / ${fmt(r.p99Ms.plain)} | ${r.keep ? 'yes' : 'no'} |`,
    );
  }
}

main();
