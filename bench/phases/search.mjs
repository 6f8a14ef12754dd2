// search: the highest offered rate each server holds with p99 < 5 ms. On a box too slow (or too
// noisy) for 5,000/s this is the latency figure that still compares usher with the references.
import { P99_TARGET_MS } from '../config.mjs';
import { fmt, int, log } from '../log.mjs';
import { offer, warmUp } from '../measure.mjs';

const passes = (r) => r.latency.p99 < P99_TARGET_MS && r.errors === 0 && r.non2xx === 0;

/**
 * Brackets the answer (up by 25 % while passing, down by 30 % while missing), then bisects, in
 * at most BENCH searchSteps runs, never above `ceiling`. `atRate` is the server's open-loop
 * result at BENCH_RATE, when that phase ran: it counts as the first step.
 */
async function searchRate(ctx, name, atRate, ceiling) {
  const { config } = ctx;
  const steps = [];
  const tryRate = async (rate) => {
    const r = await offer(ctx, name, Math.round(rate), config.searchStepS);
    const { cpu } = r;
    steps.push({
      rate: Math.round(rate),
      p50: r.latency.p50,
      p99: r.latency.p99,
      achieved: r.achieved,
      pass: passes(r),
      othersCores: cpu.othersCores,
      stealCores: cpu.stealCores,
    });
    log(
      `  ${name.padEnd(8)} ${int(rate)}/s: p50 ${fmt(r.latency.p50)}  p99 ${fmt(r.latency.p99)} ms  achieved ${int(r.achieved)}/s  ${passes(r) ? 'pass' : 'miss'}  (other processes ${fmt(cpu.othersCores)} cores, steal ${fmt(cpu.stealCores)})`,
    );
    return passes(r);
  };
  let good = 0;
  let bad = Infinity;
  if (atRate) {
    if (passes(atRate)) good = config.rate;
    else bad = config.rate;
  }
  for (let i = 0; i < config.searchSteps; i++) {
    let rate;
    if (!good && !Number.isFinite(bad)) rate = config.rate;
    else if (!Number.isFinite(bad)) {
      if (good >= ceiling) break;
      rate = Math.min(good * 1.25, ceiling);
    } else if (!good) rate = bad * 0.7;
    else {
      if (bad / good < 1.08) break;
      rate = (good + bad) / 2;
    }
    if (await tryRate(rate)) good = Math.round(rate);
    else bad = Math.round(rate);
  }
  return {
    highestPassingRate: Math.round(good),
    lowestMissingRate: Number.isFinite(bad) ? Math.round(bad) : null,
    steps,
  };
}

export async function searchPhase(ctx, openLoopResults, closedLoopResults) {
  const { config } = ctx;
  log(
    `\n## highest offered rate with p99 < ${P99_TARGET_MS} ms (${config.searchSteps} steps of ${config.searchStepS} s per server)`,
  );
  await warmUp(ctx);
  const out = {};
  for (const name of ctx.servers) {
    // Never above what the server served closed-loop: an open loop cannot beat that maximum.
    const ceiling = closedLoopResults?.[name]?.rps ?? config.rate * 3;
    out[name] = await searchRate(ctx, name, openLoopResults?.[name], ceiling);
    log(`  ${name}: highest passing rate ${int(out[name].highestPassingRate)}/s`);
  }
  return out;
}
