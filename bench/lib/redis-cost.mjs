// Redis CPU per script call (INFO commandstats usec_per_call of EVALSHA), three ways on one
// Redis, in interleaved rounds: µs per call as the least disturbed (minimum) round, ratios as the
// median of the per-round ratios (a round's three runs share the machine's state, as the closed
// loop's rounds do; the minima of two series may come from different rounds):
//   renewal  usher's heartbeat script renewing live sessions (the steady state);
//   minimal  the least a sorted-set renewal can do: ZREMRANGEBYSCORE, ZSCORE, ZADD, PEXPIRE,
//            ZCARD on one key, with the time from Redis (MINIMAL_RENEWAL_LUA);
//   churn    usher's heartbeat script for one user sending a new session id on every call
//            (an evict-oldest plan: every call admits, evicts and stays within the user's bound).
import { bulkLoad } from './loader.mjs';
import { median } from './stats.mjs';
import { CHURN_PLAN, contentId, deviceId, sessionId, userId } from './workload.mjs';

export const MINIMAL_RENEWAL_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
`;

const TTL_MS = 3_600_000;

async function usecPerEvalsha(client, calls) {
  await client.config('RESETSTAT');
  for (const batch of calls) await batch().exec();
  const info = await client.info('commandstats');
  return Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(info)[1]);
}

/**
 * Measures the three figures for `script` (loadUsherScript()) on `client`'s Redis, on keys under
 * `prefix` of their own. Returns µs per call for each and the two ratios the targets name.
 */
export async function measureRedisCost(
  client,
  script,
  { prefix = 'cost', users = 5_000, rounds = 5, batches = 5, batch = 2_000 } = {},
) {
  const pop = { users, perUser: 2, releasePool: 0 };
  await bulkLoad(client, script, pop, { prefix });
  const usherSha = await client.script('LOAD', script.lua);
  const minimalSha = await client.script('LOAD', MINIMAL_RENEWAL_LUA);
  const minimalKey = (u) => `${prefix}m:{${userId(u)}}`;
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < 2; j++)
      await client.evalsha(minimalSha, 1, minimalKey(u), sessionId(u, j), TTL_MS);
  }
  const churner = `${prefix}-churner`;
  let churned = 0;
  const renewal = (b) => () => {
    const p = client.pipeline();
    for (let i = 0; i < batch; i++) {
      const u = (b * batch + i) % users;
      const j = i & 1;
      p.evalsha(
        usherSha,
        script.numberOfKeys,
        ...script.args(prefix, {
          userId: userId(u),
          sessionId: sessionId(u, j),
          deviceId: deviceId(u, j),
          contentId: contentId(u * 2 + j),
          drm: 'widevine',
          release: false,
        }),
      );
    }
    return p;
  };
  const minimal = (b) => () => {
    const p = client.pipeline();
    for (let i = 0; i < batch; i++) {
      const u = (b * batch + i) % users;
      p.evalsha(minimalSha, 1, minimalKey(u), sessionId(u, i & 1), TTL_MS);
    }
    return p;
  };
  const churn = () => () => {
    const p = client.pipeline();
    for (let i = 0; i < batch; i++) {
      p.evalsha(
        usherSha,
        script.numberOfKeys,
        ...script.args(prefix, {
          userId: churner,
          sessionId: `churn-${churned++}`,
          deviceId: 'loop-device',
          contentId: 'title',
          drm: 'widevine',
          release: false,
          plan: CHURN_PLAN.name,
        }),
      );
    }
    return p;
  };
  const kinds = { renewal, minimal, churn };
  const perRound = { renewal: [], minimal: [], churn: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, make] of Object.entries(kinds)) {
      const calls = Array.from({ length: batches }, (_, b) => make(b));
      perRound[name].push(await usecPerEvalsha(client, calls));
    }
  }
  const best = Object.fromEntries(Object.entries(perRound).map(([k, us]) => [k, Math.min(...us)]));
  const roundRatios = (a, b) => perRound[a].map((us, i) => us / perRound[b][i]);
  return {
    usPerCall: best,
    perRound,
    renewalOverMinimal: median(roundRatios('renewal', 'minimal')),
    churnOverRenewal: median(roundRatios('churn', 'renewal')),
    calls: rounds * batches * batch,
  };
}
