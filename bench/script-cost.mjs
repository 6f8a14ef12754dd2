// Redis CPU per heartbeat script call for one or more usher checkouts (their dist/), against the
// minimal sorted-set renewal script, on one private redis-server (bench/lib/redis-cost.mjs):
//   node bench/script-cost.mjs [root ...]        (default: this checkout; run `npm run build` first)
// BENCH_REDIS_COST_ROUNDS: interleaved rounds, the least disturbed kept (default 5).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExitHandlers, startRedis, stopAll } from './lib/processes.mjs';
import { measureRedisCost } from './lib/redis-cost.mjs';
import { loadUsherScript } from './lib/workload.mjs';

installExitHandlers();
const roots = process.argv.slice(2).map((r) => resolve(r));
if (roots.length === 0) roots.push(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const redis = await startRedis();
try {
  for (const [v, root] of roots.entries()) {
    const cost = await measureRedisCost(redis.client, loadUsherScript(root), {
      prefix: `cost${v}`,
      rounds: Number(process.env.BENCH_REDIS_COST_ROUNDS) || 5,
    });
    const us = cost.usPerCall;
    process.stdout.write(
      `${root}\n  µs per EVALSHA (min of rounds): renewal ${us.renewal.toFixed(2)}, minimal sorted-set script ${us.minimal.toFixed(2)}, churn ${us.churn.toFixed(2)}\n` +
        `  median of per-round ratios: renewal ${cost.renewalOverMinimal.toFixed(2)}x the minimal, churn ${cost.churnOverRenewal.toFixed(2)}x the renewal\n`,
    );
  }
} finally {
  await stopAll();
}
process.exit(0);
