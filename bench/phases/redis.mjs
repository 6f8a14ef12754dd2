// redis: Redis CPU per script call (INFO commandstats), usher's renewal and churner against the
// minimal sorted-set renewal script, on the same Redis, rounds interleaved (bench/lib/redis-cost.mjs).
import { measureRedisCost } from '../lib/redis-cost.mjs';
import { fmt, log } from '../log.mjs';

export async function redisPhase(ctx) {
  log(
    `\n## Redis CPU per script call (INFO commandstats), same Redis, rounds interleaved: µs the minimum of rounds, ratios the median of per-round ratios`,
  );
  const cost = await measureRedisCost(ctx.redis, ctx.script, {
    prefix: 'cost',
    rounds: ctx.config.redisCostRounds,
  });
  const us = cost.usPerCall;
  log(
    `  usher renewal ${fmt(us.renewal)} µs, minimal sorted-set renewal ${fmt(us.minimal)} µs → ${fmt(cost.renewalOverMinimal)}x`,
  );
  log(
    `  usher churner (new session id each call, evict-oldest) ${fmt(us.churn)} µs → ${fmt(cost.churnOverRenewal)}x the renewal`,
  );
  return cost;
}
