// BENCH_PROFILE=1: usher and the references ran with --cpu-prof. After the closed-loop and cpu
// phases they are stopped (V8 writes the profile on exit), each profile is summarised over the
// server's first closed-loop round, and self time per heartbeat is set side by side by origin.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fmt, log } from './log.mjs';
import { formatProfileSummary, summarizeProfile } from './profile-summary.mjs';

/** Stops the profiled servers (`names`) and returns { profiles, profileByOrigin }. */
export async function collectProfiles(ctx, names, closedLoop) {
  const profiles = {};
  for (const name of names) {
    const dir = join(ctx.runDir, `profile-${name}`);
    await ctx.targets[name].stop();
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) continue;
    const path = relative(ctx.config.root, join(dir, file));
    const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), {
      ...(ctx.profileWindows[name] ?? {}),
      top: 40,
    });
    profiles[name] = { file: path, ...summary };
    log(`\n## ${name} CPU profile (closed-loop window): ${path}`);
    log(formatProfileSummary(summary));
  }
  // Self time per heartbeat by origin, side by side (the first closed-loop round of each).
  const heartbeats = (name) => closedLoop?.rounds[name]?.[0]?.requests;
  const profiled = Object.keys(profiles).filter((n) => heartbeats(n));
  if (!profiled.length) return { profiles };
  const origins = [...new Set(profiled.flatMap((n) => profiles[n].origins.map((o) => o.what)))];
  const perHeartbeat = (n, what) =>
    ((profiles[n].origins.find((o) => o.what === what)?.ms ?? 0) * 1000) / heartbeats(n);
  const profileByOrigin = origins.map((what) => ({
    origin: what,
    ...Object.fromEntries(profiled.map((n) => [n, Number(perHeartbeat(n, what).toFixed(2))])),
  }));
  log(`\n## self time per heartbeat by origin, µs (closed loop, first round)`);
  log(`  ${'origin'.padEnd(28)}${profiled.map((n) => n.padStart(9)).join('')}`);
  for (const row of profileByOrigin) {
    const cells = profiled.map((n) => fmt(row[n], 1).padStart(9)).join('');
    log(`  ${row.origin.slice(0, 27).padEnd(28)}${cells}`);
  }
  return { profiles, profileByOrigin };
}
