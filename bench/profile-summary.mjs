// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per origin
// (usher's own code, each npm package, node internals, GC). Usage:
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--from <us>] [--to <us>]
// --from/--to restrict to samples in a window of V8 monotonic microseconds (the bench passes
// the load phase's window: process.hrtime and V8 ticks share CLOCK_MONOTONIC on Linux).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function origin(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:') || !url.includes('/')) return 'node internals';
  if (url.includes('/dist/')) return 'usher (dist)';
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(profile, { top = 25, from, to } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let t = profile.startTime;
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if ((from !== undefined && t < from) || (to !== undefined && t > to)) continue;
    // A sample's time is the gap to the next sample (what V8 attributes to this stack).
    const next = profile.timeDeltas[i + 1] ?? delta;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + next);
    totalUs += next;
  }
  const functions = new Map();
  const origins = new Map();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    const file = callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const key = `${name}  ${file}:${callFrame.lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const o = origin(callFrame.url, name);
    origins.set(o, (origins.get(o) ?? 0) + us);
  }
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([what, us]) => ({ what, ms: us / 1000, pct: (100 * us) / totalUs }));
  return {
    totalMs: totalUs / 1000,
    functions: rank(functions).slice(0, top),
    origins: rank(origins).slice(0, top),
  };
}

/** Who calls `name` (self time of matching nodes, grouped by their `depth` nearest callers). */
export function callersOf(profile, name, { depth = 4, top = 10 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    return `${f.functionName || '(anonymous)'}@${file}:${f.lineNumber + 1}`;
  };
  const chains = new Map();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== name || !n.hitCount) continue;
    const chain = [];
    for (let p = parent.get(n.id); p !== undefined && chain.length < depth; p = parent.get(p)) {
      chain.push(label(byId.get(p)));
    }
    const key = chain.join(' < ');
    chains.set(key, (chains.get(key) ?? 0) + n.hitCount);
  }
  return [...chains.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}

export function formatProfileSummary(s) {
  const row = (r) =>
    `${r.pct.toFixed(1).padStart(6)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.what}`;
  return [
    `profile: ${s.totalMs.toFixed(0)} ms of samples`,
    'self time by origin:',
    ...s.origins.map(row),
    'top functions by self time:',
    ...s.functions.map(row),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    process.stderr.write(
      'usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N] [--from us] [--to us]\n',
    );
    process.exit(2);
  }
  const opt = (name) => {
    const i = rest.indexOf(name);
    return i >= 0 ? Number(rest[i + 1]) : undefined;
  };
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const callers = rest.indexOf('--callers');
  if (callers >= 0) {
    for (const [chain, hits] of callersOf(profile, rest[callers + 1], {
      depth: opt('--depth') ?? 4,
    })) {
      process.stdout.write(`${String(hits).padStart(7)} samples  < ${chain}\n`);
    }
    process.exit(0);
  }
  process.stdout.write(
    `${formatProfileSummary(summarizeProfile(profile, { top: opt('--top') ?? 25, from: opt('--from'), to: opt('--to') }))}\n`,
  );
}
