// scale: p99 of renewals at BENCH_SCALE_RATE with 10 thousand and BENCH_SCALE_MAX live sessions,
// and Redis memory per live session. Each point gets a redis-server and usher of its own, so the
// points' rounds can alternate in time: a noisy stretch of the host (steal comes and goes for
// minutes) then falls on both points alike instead of on one.
import { join } from 'node:path';
import { PREFIXES, TOKEN } from '../config.mjs';
import { bulkLoad } from '../lib/loader.mjs';
import { openLoop } from '../lib/open-loop.mjs';
import { sleep, startRedis } from '../lib/processes.mjs';
import { usedMemory } from '../lib/redis-stats.mjs';
import { median } from '../lib/stats.mjs';
import { renewalsOf, userId } from '../lib/workload.mjs';
import { fmt, int, log } from '../log.mjs';
import { formatCpu, measured } from '../measure.mjs';
import { startUsher } from '../servers.mjs';

/** A point: `sessions` live sessions (2 per user) loaded through the script, usher warmed. */
async function startPoint(ctx, sessions) {
  const { config } = ctx;
  const label = `scale-${sessions}`;
  const redisHandle = await startRedis({
    logFile: join(ctx.runDir, `redis-${label}.log`),
    args: config.redisArgs,
  });
  const usher = await startUsher({ ...ctx, redisUrl: redisHandle.url }, { name: `usher-${label}` });
  await sleep(500); // usher's own keys (plans, queues) are in the baseline, not per session
  const baseline = await usedMemory(redisHandle.client);
  const pop = { users: sessions / 2, perUser: 2, releasePool: 0 };
  let lastReport = Date.now();
  const load = await bulkLoad(redisHandle.client, ctx.script, pop, {
    prefix: PREFIXES.usher,
    onProgress: (done) => {
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        log(`    loading ${int(sessions)} ... ${int(done)}`);
      }
    },
  });
  const unexpected = Object.keys(load.decisions).filter((k) => k !== 'allow/admitted');
  if (unexpected.length) {
    throw new Error(`bulk load: unexpected answers ${JSON.stringify(load.decisions)}`);
  }
  await sleep(500);
  const memory = await usedMemory(redisHandle.client);
  const keys = await redisHandle.client.dbsize();
  const renewals = renewalsOf(pop);
  // JIT warm-up on renewals only: the mix would add sessions to the point.
  await openLoop({
    port: usher.port,
    token: TOKEN,
    rate: config.scaleRate,
    durationS: config.warmupS,
    nextBody: renewals,
  });
  log(
    `  ${int(sessions)} live sessions: loaded in ${fmt(load.seconds, 1)} s (${int(load.rate)}/s), used_memory ${fmt(memory / 2 ** 20, 1)} MiB → ${fmt((memory - baseline) / sessions, 0)} B/session`,
  );
  return { sessions, redisHandle, usher, load, baseline, memory, keys, renewals, rounds: [] };
}

function pointResult(p, rate) {
  const roundP99s = p.rounds.map((x) => x.latency.p99);
  const r = p.rounds.find((x) => x.latency.p99 === median(roundP99s));
  return {
    liveSessions: p.sessions,
    keys: p.keys,
    load: {
      sessions: p.load.sessions,
      seconds: Number(p.load.seconds.toFixed(1)),
      perSecond: Math.round(p.load.rate),
    },
    baselineUsedMemory: p.baseline,
    usedMemoryBytes: p.memory,
    bytesPerSession: (p.memory - p.baseline) / p.sessions,
    renewals: {
      offered: rate,
      achieved: r.achieved,
      p50: r.latency.p50,
      p99: r.latency.p99,
      roundP99s,
      p999: r.latency.p999,
      non2xx: p.rounds.reduce((n, x) => n + x.non2xx, 0),
      errors: p.rounds.reduce((n, x) => n + x.errors, 0),
      cpu: r.cpu,
    },
  };
}

/** How Redis stores a user's sessions, e.g. "zset (listpack) + hash (listpack)". */
async function storageOf(ctx, client) {
  const keys = ctx.script.userKeys(PREFIXES.usher, userId(0));
  const described = async (key) =>
    `${await client.type(key)} (${await client.object('ENCODING', key)})`;
  return `${await described(keys.entries)} + ${await described(keys.details)}`;
}

export async function scalePhase(ctx) {
  const { config } = ctx;
  log(
    `\n## scale: renewals at ${config.scaleRate}/s for ${config.durationS} s × ${config.rounds} rounds with ${int(config.scaleSmall)} and ${int(config.scaleLarge)} live sessions (2 per user), each point its own redis-server and usher, rounds alternating`,
  );
  const pair = [];
  for (const sessions of [config.scaleSmall, config.scaleLarge]) {
    pair.push(await startPoint(ctx, sessions));
  }
  for (let round = 0; round < config.rounds; round++) {
    // small, large; then large, small: neither point always runs first
    for (const p of round % 2 === 0 ? pair : [...pair].reverse()) {
      const run = () =>
        openLoop({
          port: p.usher.port,
          token: TOKEN,
          rate: config.scaleRate,
          durationS: config.durationS,
          nextBody: p.renewals,
        });
      const r = await measured(ctx, p.usher.pid, run, (x) => x.completed, p.redisHandle.pid);
      p.rounds.push(r);
      log(
        `    round ${round + 1}, ${int(p.sessions)} sessions: p50 ${fmt(r.latency.p50)} p99 ${fmt(r.latency.p99)} ms, non-2xx ${r.non2xx}, unanswered ${r.errors}; ${formatCpu(r.cpu)}`,
      );
    }
  }
  const points = pair.map((p) => pointResult(p, config.scaleRate));
  const [small, large] = pair;
  const storage = await storageOf(ctx, large.redisHandle.client);
  // Each round's large ÷ small p99, the two runs of a round minutes apart at most.
  const roundRatios = large.rounds.map((x, i) => x.latency.p99 / small.rounds[i].latency.p99);
  const p99Ratio = points[1].renewals.p99 / points[0].renewals.p99;
  for (const p of points) {
    log(
      `  ${int(p.liveSessions)} live sessions: p99 ${fmt(p.renewals.p99)} ms (median of rounds ${p.renewals.roundP99s.map((x) => fmt(x)).join(', ')}), p50 ${fmt(p.renewals.p50)} ms`,
    );
  }
  log(
    `  p99 ratio ${fmt(p99Ratio)}× (per round ${roundRatios.map((x) => fmt(x)).join(', ')}); a user's sessions are stored as ${storage}`,
  );
  for (const p of pair) {
    await p.usher.stop();
    p.redisHandle.client.disconnect();
    await p.redisHandle.stop();
  }
  return { points, p99Ratio, roundRatios, storage };
}
