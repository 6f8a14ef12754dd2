// open: latency at BENCH_RATE offered (open loop). A p99 rests on the slowest 1 % of one run, so
// one stall episode decides it: the servers run BENCH_ROUNDS times, interleaved, and the round
// with the median p99 is reported (every round's p99 is printed and kept).
import { TOKEN } from '../config.mjs';
import { openLoop } from '../lib/open-loop.mjs';
import { median } from '../lib/stats.mjs';
import { fmt, int, log } from '../log.mjs';
import { formatCpu, offer, warmUp } from '../measure.mjs';

export async function openPhase(ctx) {
  const { config } = ctx;
  log(
    `\n## open loop: ${config.rate}/s offered for ${config.durationS} s × ${config.rounds} rounds per server, 90/8/2 mix`,
  );
  await warmUp(ctx);
  // Steady state first: the same rate, unmeasured, so round 1 does not pay for the ramp.
  for (const name of ctx.servers) {
    await openLoop({
      port: ctx.targets[name].port,
      token: TOKEN,
      rate: config.rate,
      durationS: config.warmupS,
      nextBody: ctx.mix[name],
    });
  }
  const runs = Object.fromEntries(ctx.servers.map((name) => [name, []]));
  for (let round = 0; round < config.rounds; round++) {
    for (const name of ctx.servers) {
      const r = await offer(ctx, name, config.rate, config.durationS);
      runs[name].push(r);
      log(
        `  ${name.padEnd(8)} round ${round + 1}: achieved ${int(r.achieved)}/s  p50 ${fmt(r.latency.p50)}  p99 ${fmt(r.latency.p99)}  p99.9 ${fmt(r.latency.p999)}  max ${fmt(r.latency.max)} ms  (p99 from schedule ${fmt(r.fromSchedule.p99)}, service ${fmt(r.serviceLatency.p99)})  non-2xx ${r.non2xx}  unanswered ${r.errors}  connections ${r.maxConnectionsUsed}`,
      );
      log(`           ${formatCpu(r.cpu)}`);
    }
  }
  const out = {};
  for (const name of ctx.servers) {
    const p99s = runs[name].map((r) => r.latency.p99);
    const m = median(p99s);
    out[name] = {
      ...runs[name].find((r) => r.latency.p99 === m),
      roundP99s: p99s,
      anyFailed: runs[name].some((r) => r.errors > 0 || r.non2xx > 0),
    };
    log(`  ${name}: median p99 ${fmt(m)} ms (rounds ${p99s.map((x) => fmt(x)).join(', ')})`);
  }
  return out;
}
