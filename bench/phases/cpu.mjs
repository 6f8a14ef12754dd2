// cpu: server CPU per heartbeat at a fixed offered rate (BENCH_CPU_RATE), rounds interleaved.
// Unlike closed-loop throughput it hardly moves with whatever else the machine runs, so it is
// the figure to compare builds and servers by.
import { median } from '../lib/stats.mjs';
import { fmt, log } from '../log.mjs';
import { offer, warmUp } from '../measure.mjs';

export async function cpuPhase(ctx) {
  const { config } = ctx;
  log(
    `\n## CPU per heartbeat at ${config.cpuRate}/s offered (open loop, ${config.searchStepS} s × ${config.rounds} rounds per server)`,
  );
  await warmUp(ctx);
  const runs = Object.fromEntries(ctx.servers.map((name) => [name, []]));
  for (let round = 0; round < config.rounds; round++) {
    for (const name of ctx.servers) {
      const r = await offer(ctx, name, config.cpuRate, config.searchStepS);
      const { cpu } = r;
      runs[name].push({
        serverUs: cpu.usPerRequest.server,
        redisUs: cpu.usPerRequest.redis,
        p50: r.latency.p50,
        p99: r.latency.p99,
        othersCores: cpu.othersCores,
        non2xx: r.non2xx,
        errors: r.errors,
      });
      log(
        `  ${name.padEnd(8)} round ${round + 1}: server ${fmt(cpu.usPerRequest.server, 1)} µs/heartbeat, redis ${fmt(cpu.usPerRequest.redis, 1)}; p50 ${fmt(r.latency.p50)} p99 ${fmt(r.latency.p99)} ms; other processes ${fmt(cpu.othersCores)} cores`,
      );
    }
  }
  const serverUs = Object.fromEntries(
    ctx.servers.map((n) => [n, median(runs[n].map((r) => r.serverUs))]),
  );
  const out = {
    rate: config.cpuRate,
    serverUs,
    rawOverUsher: serverUs.raw / serverUs.usher,
    usherOverRaw: serverUs.usher / serverUs.raw,
    usherOverFloor: serverUs.usher / serverUs.floor,
    runs,
  };
  log(
    `  median server CPU per heartbeat: ${ctx.servers.map((n) => `${n} ${fmt(serverUs[n], 1)} µs`).join(', ')}; usher/raw ${fmt(out.usherOverRaw)}, usher/floor ${fmt(out.usherOverFloor)}`,
  );
  if (serverUs.baseline) {
    out.usherOverBaseline = serverUs.usher / serverUs.baseline;
    log(
      `  usher vs baseline: ${fmt(serverUs.usher - serverUs.baseline, 1)} µs per heartbeat (${fmt((out.usherOverBaseline - 1) * 100, 1)} %)`,
    );
  }
  return out;
}
