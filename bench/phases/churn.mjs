// churn: other users renew at BENCH_CHURN_RATE (open loop) without, then with, one user sending
// license requests with a new session id each (an evict-oldest plan) over the same window.
// Reports the others' p99 both ways and what the churner holds in Redis after.
import { PREFIXES, TOKEN } from '../config.mjs';
import { bulkLoad } from '../lib/loader.mjs';
import { openLoop } from '../lib/open-loop.mjs';
import { median } from '../lib/stats.mjs';
import { renewalsOf } from '../lib/workload.mjs';
import { fmt, int, log } from '../log.mjs';
import { heartbeatsByReason } from '../servers.mjs';

const POPULATION = { users: 5_000, perUser: 2, releasePool: 0 };

/** The member of a user's sorted set that says the user has no override: not an entry. */
const NO_OVERRIDE_MARKER = '!';

/** What one user holds in Redis: entries in its sorted set (not the marker), bytes of its two keys. */
async function holdings(ctx, user) {
  const keys = ctx.script.userKeys(PREFIXES.usher, user);
  let bytes = 0;
  for (const key of [keys.entries, keys.details]) {
    bytes += Number(await ctx.redis.call('MEMORY', 'USAGE', key)) || 0;
  }
  const marked = (await ctx.redis.zscore(keys.entries, NO_OVERRIDE_MARKER)) !== null;
  return { entries: (await ctx.redis.zcard(keys.entries)) - (marked ? 1 : 0), bytes };
}

export async function churnPhase(ctx) {
  const { config } = ctx;
  const usher = ctx.targets.usher;
  const requests = config.churnRequests;
  log(
    `\n## churn: renewals of other users at ${int(config.churnRate)}/s for ${config.durationS} s, without and with one user sending ${int(requests)} new sessions`,
  );
  await bulkLoad(ctx.redis, ctx.script, POPULATION, { prefix: PREFIXES.usher });
  const renewals = renewalsOf(POPULATION);
  const churner = `churner-${ctx.startedAt}`;
  let n = 0;
  const churnBody = () =>
    JSON.stringify({
      userId: churner,
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: `churn-${n++}`,
      deviceId: 'loop-device',
      contentId: 'title',
      plan: 'churn',
    });
  const load = (rate, durationS, nextBody) =>
    openLoop({ port: usher.port, token: TOKEN, rate, durationS, nextBody });
  await load(config.churnRate, config.warmupS, renewals);
  const runs = { without: [], with: [] };
  for (let round = 0; round < config.rounds; round++) {
    runs.without.push(await load(config.churnRate, config.durationS, renewals));
    const [others, churn] = await Promise.all([
      load(config.churnRate, config.durationS, renewals),
      load(Math.round(requests / config.durationS), config.durationS, churnBody),
    ]);
    runs.with.push({ ...others, churn });
    log(
      `  round ${round + 1}: others' p99 ${fmt(runs.without.at(-1).latency.p99)} ms without, ${fmt(others.latency.p99)} ms with the churner (${int(churn.completed)} requests, non-2xx ${churn.non2xx}); others non-2xx ${others.non2xx}`,
    );
  }
  const { entries, bytes } = await holdings(ctx, churner);
  const p99Without = median(runs.without.map((r) => r.latency.p99));
  const p99With = median(runs.with.map((r) => r.latency.p99));
  const degraded = (await heartbeatsByReason(usher).catch(() => ({}))).degraded ?? 0;
  log(
    `  others' p99 (median of rounds) ${fmt(p99Without)} → ${fmt(p99With)} ms (${fmt(p99With / p99Without)}x); the churner holds ${entries} entries, ${int(bytes)} B; degraded answers so far ${degraded}`,
  );
  return {
    requests,
    rate: config.churnRate,
    p99Without,
    p99With,
    p99Ratio: p99With / p99Without,
    roundP99s: {
      without: runs.without.map((r) => r.latency.p99),
      with: runs.with.map((r) => r.latency.p99),
    },
    churnerEntries: entries,
    churnerBytes: bytes,
    degraded,
  };
}
